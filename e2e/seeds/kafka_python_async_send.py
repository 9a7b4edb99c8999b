# Seed 003, "Asynchronous Send" (bootstrap from TRIB_BOOTSTRAP).
import os

from kafka import KafkaProducer

def on_send_success(record_metadata):
    print(f'Message sent to {record_metadata.topic} partition {record_metadata.partition} offset {record_metadata.offset}')

def on_send_error(excp):
    print(f'I am an errback {excp}')

producer = KafkaProducer(bootstrap_servers=os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'))
producer.send('MyFirstTopic', b'Test Message').add_callback(on_send_success).add_errback(on_send_error)
producer.flush()
