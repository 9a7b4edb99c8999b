"""auto.offset.reset behaviour for e2e/test/offset-reset.test.ts.

  offset_reset.py confluent|kafka-python BOOTSTRAP TOPIC GROUP earliest|latest SECONDS

Subscribes with the given reset policy, prints {"ready": true} once partitions are assigned and
positioned, then prints {"k": key} per record for SECONDS, commits, and exits.
"""
import sys
import time

from common import emit


def main(client, bootstrap, topic, group, reset, seconds):
    ready = False
    end = None
    assigned_at = None
    if client == 'confluent':
        from confluent_kafka import Consumer
        consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': reset, 'enable.auto.commit': False})
        consumer.subscribe([topic])
        while end is None or time.time() < end:
            msg = consumer.poll(0.2)
            if not ready and consumer.assignment():
                # librdkafka resolves the reset offset asynchronously after the assignment and
                # exposes no position until a record is consumed: give it a generous moment.
                assigned_at = assigned_at or time.time()
                if time.time() - assigned_at > 2.0:
                    ready = True
                    end = time.time() + seconds
                    emit({'ready': True})
                    sys.stdout.flush()
            if msg is not None and not msg.error():
                emit({'k': msg.key().decode()})
                sys.stdout.flush()
        consumer.commit(asynchronous=False)
        consumer.close()
    else:
        from kafka import KafkaConsumer
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset=reset, enable_auto_commit=False)
        consumer.subscribe([topic])
        while end is None or time.time() < end:
            batches = consumer.poll(timeout_ms=200)
            if not ready and consumer.assignment():
                for tp in consumer.assignment():
                    consumer.position(tp)
                ready = True
                end = time.time() + seconds
                emit({'ready': True})
                sys.stdout.flush()
            for records in batches.values():
                for msg in records:
                    emit({'k': msg.key.decode()})
                    sys.stdout.flush()
        consumer.commit()
        consumer.close()


if __name__ == '__main__':
    c, b, t, g, r, s = sys.argv[1:7]
    main(c, b, t, g, r, float(s))
