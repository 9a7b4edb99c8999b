// confluent-kafka-python 1.7.0 (Debian, librdkafka 2.0.2): AdminClient, Producer, assign-only Consumer.
import { pythonClientSuite } from '../support/python-suite.ts';

pythonClientSuite('confluent-kafka-python', 'confluent_client.py');
