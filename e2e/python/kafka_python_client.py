"""kafka-python (Debian's 2.0.2) client for the e2e tests.

  kafka_python_client.py BOOTSTRAP create TOPIC PARTITIONS
  kafka_python_client.py BOOTSTRAP produce TOPIC CODEC COUNT TAG
  kafka_python_client.py BOOTSTRAP consume TOPIC COUNT [TIMEOUT_S]
  kafka_python_client.py BOOTSTRAP codecs
"""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec
from kafka.admin import NewTopic

from common import binary_record, emit, emit_record, log


def create(bootstrap, topic, partitions):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='e2e-admin')
    admin.create_topics([NewTopic(name=topic, num_partitions=int(partitions), replication_factor=1)], timeout_ms=30000)
    admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions_seen = consumer.partitions_for_topic(topic)
    consumer.close()
    emit({'created': topic, 'partitions': sorted(partitions_seen or [])})


def produce(bootstrap, topic, codec, count, tag):
    count = int(count)
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=None if codec == 'none' else codec,
                             linger_ms=20, batch_size=256 * 1024, acks=1)
    log('detected broker api_version', producer.config['api_version'])
    futures = []
    for i in range(count):
        key, value, headers = binary_record(i, tag)
        futures.append(producer.send(topic, key=key, value=value, headers=headers, partition=0))
    producer.flush(120)
    offsets = []
    errors = []
    for future in futures:
        try:
            offsets.append(future.get(timeout=60).offset)
        except Exception as error:  # noqa: BLE001 - report every failure kind
            errors.append(repr(error))
    producer.close()
    emit({'delivered': len(offsets), 'errors': errors[:10], 'error_count': len(errors),
          'offsets_in_order': offsets == sorted(offsets), 'first_offset': offsets[0] if offsets else None,
          'last_offset': offsets[-1] if offsets else None, 'api_version': list(producer.config['api_version'])})


def consume(bootstrap, topic, count, timeout_s=90):
    count = int(count)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset='earliest')
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    seen = 0
    deadline = time.time() + float(timeout_s)
    while seen < count and time.time() < deadline:
        batches = consumer.poll(timeout_ms=1000)
        for records in batches.values():
            for msg in records:
                emit_record(msg.offset, msg.key, msg.value, msg.headers)
                seen += 1
    consumer.close()
    emit({'done': seen})


def codecs(_bootstrap):
    supported = ['none']
    for name, check in (('gzip', kcodec.has_gzip), ('snappy', kcodec.has_snappy), ('lz4', kcodec.has_lz4), ('zstd', kcodec.has_zstd)):
        if check():
            supported.append(name)
        else:
            log(name, 'unsupported: python module missing')
    emit({'codecs': supported})


if __name__ == '__main__':
    bootstrap, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    {'create': create, 'produce': produce, 'consume': consume, 'codecs': codecs}[command](bootstrap, *args)
