"""Consumer-group reads with manual commits, for e2e/test/groups.test.ts.

  group_client.py confluent|kafka-python BOOTSTRAP TOPIC GROUP MAX_RECORDS IDLE_S

Subscribes with GROUP (earliest when nothing is committed), reads up to MAX_RECORDS records (stops early
once IDLE_S seconds pass without a record after the first one, or 60 s without any), commits the
consumed positions synchronously, closes, and prints one JSON line per record, then {"done": n}.
"""
import sys
import time

from common import emit, log


def run_confluent(bootstrap, topic, group, max_records, idle_s):
    from confluent_kafka import Consumer
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False,
                         'auto.offset.reset': 'earliest'})
    consumer.subscribe([topic])
    seen = 0
    start = last = time.time()
    while seen < max_records:
        now = time.time()
        if (seen == 0 and now - start > 60) or (seen > 0 and now - last > idle_s):
            break
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            log('error:', msg.error())
            continue
        emit({'p': msg.partition(), 'o': msg.offset(), 'k': msg.key().decode()})
        seen += 1
        last = time.time()
    if seen > 0:
        consumer.commit(asynchronous=False)
    consumer.close()
    emit({'done': seen})


def run_kafka_python(bootstrap, topic, group, max_records, idle_s):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset='earliest')
    seen = 0
    start = last = time.time()
    while seen < max_records:
        now = time.time()
        if (seen == 0 and now - start > 60) or (seen > 0 and now - last > idle_s):
            break
        batches = consumer.poll(timeout_ms=500, max_records=1)
        for records in batches.values():
            for msg in records:
                emit({'p': msg.partition, 'o': msg.offset, 'k': msg.key.decode()})
                seen += 1
                last = time.time()
    if seen > 0:
        consumer.commit()
    consumer.close()
    emit({'done': seen})


if __name__ == '__main__':
    client, bootstrap, topic, group, max_records, idle_s = sys.argv[1:7]
    runner = run_confluent if client == 'confluent' else run_kafka_python
    runner(bootstrap, topic, group, int(max_records), float(idle_s))
