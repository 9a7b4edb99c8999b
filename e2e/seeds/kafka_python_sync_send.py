# Seed 003, "Synchronous Send" (bootstrap from TRIB_BOOTSTRAP).
import os

from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'))
future = producer.send('MyFirstTopic', b'Test Message')
result = future.get(timeout=10)
print(result)
