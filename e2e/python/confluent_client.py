"""confluent-kafka-python (librdkafka) client for the e2e tests.

  confluent_client.py BOOTSTRAP create TOPIC PARTITIONS
  confluent_client.py BOOTSTRAP produce TOPIC CODEC COUNT TAG
  confluent_client.py BOOTSTRAP consume TOPIC COUNT [TIMEOUT_S]
  confluent_client.py BOOTSTRAP codecs
"""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, OFFSET_BEGINNING, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import binary_record, emit, emit_record, log

CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']


def create(bootstrap, topic, partitions):
    admin = AdminClient({'bootstrap.servers': bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=int(partitions), replication_factor=1)], operation_timeout=30)
    futures[topic].result(timeout=60)
    listed = admin.list_topics(topic=topic, timeout=30)
    meta = listed.topics[topic]
    emit({'created': topic, 'partitions': sorted(meta.partitions.keys()), 'error': str(meta.error) if meta.error else None,
          'brokers': ['%s:%d' % (b.host, b.port) for b in listed.brokers.values()]})


def produce(bootstrap, topic, codec, count, tag):
    count = int(count)
    producer = Producer({'bootstrap.servers': bootstrap, 'compression.type': codec, 'linger.ms': 20,
                         'batch.num.messages': 2000, 'acks': 'all'})
    offsets = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            offsets.append(msg.offset())

    for i in range(count):
        key, value, headers = binary_record(i, tag)
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(120)
    emit({'delivered': len(offsets), 'undelivered': remaining, 'errors': errors[:10], 'error_count': len(errors),
          'offsets_in_order': offsets == sorted(offsets), 'first_offset': offsets[0] if offsets else None,
          'last_offset': offsets[-1] if offsets else None})


def consume(bootstrap, topic, count, timeout_s=90):
    count = int(count)
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'e2e-assign-only', 'enable.auto.commit': False,
                         'auto.offset.reset': 'earliest', 'enable.partition.eof': False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    seen = 0
    deadline = time.time() + float(timeout_s)
    while seen < count and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            log('consume error:', msg.error())
            continue
        emit_record(msg.offset(), msg.key(), msg.value(), msg.headers())
        seen += 1
    consumer.close()
    emit({'done': seen})


def codecs(bootstrap):
    supported = []
    for codec in CODECS:
        try:
            Producer({'bootstrap.servers': bootstrap, 'compression.type': codec})
            supported.append(codec)
        except KafkaException as error:
            log(codec, 'unsupported:', error)
    emit({'codecs': supported})


if __name__ == '__main__':
    bootstrap, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    {'create': create, 'produce': produce, 'consume': consume, 'codecs': codecs}[command](bootstrap, *args)
