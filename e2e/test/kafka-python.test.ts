// kafka-python 2.0.2 (Debian): KafkaAdminClient, KafkaProducer, KafkaConsumer without a group.
// Debian's python3-snappy, python3-lz4 and python3-zstandard give it all five codecs; zstd also needs the
// broker to look like Kafka >= 2.1 to kafka-python's version probe.
import { pythonClientSuite } from '../support/python-suite.ts';

pythonClientSuite('kafka-python', 'kafka_python_client.py');
