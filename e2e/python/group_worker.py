"""A long-running consumer-group member for e2e/test/group-failover.test.ts.

  group_worker.py confluent|kafka-python BOOTSTRAP TOPIC GROUP SESSION_TIMEOUT_MS [count]

Subscribes (earliest when nothing is committed), processes records, and commits synchronously after
each processed batch (manual commits, at-least-once). Prints JSON lines: {"assigned": [partitions]} on
every assignment, {"p": partition, "o": offset, "k": key} per record, {"committed": n} after a commit.
With `count` (benchmarks) it prints {"n": records} per batch instead of a line per record.
Runs until SIGTERM (then leaves the group) or SIGKILL (the test's crash).
"""
import signal
import sys

from common import emit, log

running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


COUNT_ONLY = len(sys.argv) > 6 and sys.argv[6] == 'count'


def run_confluent(bootstrap, topic, group, session_ms):
    from confluent_kafka import Consumer
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False,
                         'auto.offset.reset': 'earliest', 'session.timeout.ms': session_ms,
                         'heartbeat.interval.ms': max(100, session_ms // 10)})

    def on_assign(c, partitions):
        emit({'assigned': sorted(p.partition for p in partitions)})

    def on_revoke(c, partitions):
        emit({'revoked': sorted(p.partition for p in partitions)})

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while running:
        msgs = consumer.consume(num_messages=200, timeout=0.2)
        done = 0
        for msg in msgs:
            if msg.error():
                log('error:', msg.error())
                continue
            if not COUNT_ONLY:
                emit({'p': msg.partition(), 'o': msg.offset(), 'k': msg.key().decode()})
            done += 1
        if done:
            consumer.commit(asynchronous=False)
            emit({'n': done} if COUNT_ONLY else {'committed': done})
        sys.stdout.flush()
    consumer.close()


def run_kafka_python(bootstrap, topic, group, session_ms):
    from kafka import KafkaConsumer, ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit({'revoked': sorted(p.partition for p in revoked)})
            sys.stdout.flush()

        def on_partitions_assigned(self, assigned):
            emit({'assigned': sorted(p.partition for p in assigned)})
            sys.stdout.flush()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset='earliest', session_timeout_ms=session_ms,
                             heartbeat_interval_ms=max(100, session_ms // 10))
    consumer.subscribe([topic], listener=Listener())
    while running:
        batches = consumer.poll(timeout_ms=200, max_records=200)
        done = 0
        for records in batches.values():
            for msg in records:
                if not COUNT_ONLY:
                    emit({'p': msg.partition, 'o': msg.offset, 'k': msg.key.decode()})
                done += 1
        if done:
            consumer.commit()
            emit({'n': done} if COUNT_ONLY else {'committed': done})
        sys.stdout.flush()
    consumer.close()


if __name__ == '__main__':
    client, bootstrap, topic, group, session_ms = sys.argv[1:6]
    (run_confluent if client == 'confluent' else run_kafka_python)(bootstrap, topic, group, int(session_ms))
