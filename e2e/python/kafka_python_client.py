"""kafka-python (Debian's 2.0.2) client for the e2e tests.

  kafka_python_client.py BOOTSTRAP create TOPIC PARTITIONS
  kafka_python_client.py BOOTSTRAP produce TOPIC CODEC COUNT TAG
  kafka_python_client.py BOOTSTRAP consume TOPIC COUNT [TIMEOUT_S]
  kafka_python_client.py BOOTSTRAP codecs
  kafka_python_client.py BOOTSTRAP log_dirs NODE_ID
"""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec
from kafka.admin import NewTopic
from kafka.protocol.api import Request, Response
from kafka.protocol.types import Array, Boolean, Int16, Int32, Int64, Schema, String

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


# kafka-python 2.0.2 has no describe_log_dirs (it came in 2.1) and no DescribeLogDirs message, so v0 is declared
# here with its own protocol types and sent the way its admin client sends its other per-broker requests.
class DescribeLogDirsResponse_v0(Response):
    API_KEY = 35
    API_VERSION = 0
    SCHEMA = Schema(
        ('throttle_time_ms', Int32),
        ('log_dirs', Array(
            ('error_code', Int16),
            ('log_dir', String('utf-8')),
            ('topics', Array(
                ('name', String('utf-8')),
                ('partitions', Array(
                    ('partition_index', Int32),
                    ('partition_size', Int64),
                    ('offset_lag', Int64),
                    ('is_future_key', Boolean))))))))


class DescribeLogDirsRequest_v0(Request):
    API_KEY = 35
    API_VERSION = 0
    RESPONSE_TYPE = DescribeLogDirsResponse_v0
    SCHEMA = Schema(('topics', Array(('topic', String('utf-8')), ('partitions', Array(Int32)))))


def log_dirs(bootstrap, node_id):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='e2e-admin')
    future = admin._send_request_to_node(int(node_id), DescribeLogDirsRequest_v0(topics=None))
    admin._wait_for_futures([future])
    admin.close()
    dirs = []
    for error_code, log_dir, topics in future.value.log_dirs:
        replicas = [{'topic': name, 'partition': p[0], 'size': p[1], 'offset_lag': p[2], 'future': p[3]}
                    for name, partitions in topics for p in partitions]
        dirs.append({'error_code': error_code, 'log_dir': log_dir, 'replicas': replicas})
    emit({'node_id': int(node_id), 'log_dirs': dirs})


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
    {'create': create, 'produce': produce, 'consume': consume, 'codecs': codecs, 'log_dirs': log_dirs}[command](bootstrap, *args)
