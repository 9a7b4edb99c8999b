# Seed 003, "Fire and Forget" (bootstrap from TRIB_BOOTSTRAP).
import os

from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'))
producer.send('MyFirstTopic', b'Test Message')
producer.flush()
