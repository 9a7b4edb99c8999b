# Seed 002, "Python Producer" (bootstrap from TRIB_BOOTSTRAP).
import os

from kafka import KafkaProducer

# Create Message
msg = 'Hello this is a test message'

# Create a producer
producer = KafkaProducer(bootstrap_servers=os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'))

def kafka_python_producer_async(producer, msg):
    producer.send('mytesttopic', msg).add_callback(success).add_errback(error)
    producer.flush()

def success(metadata):
    print(metadata.topic)

def error(exception):
    print(exception)

print("start producing")
kafka_python_producer_async(producer, bytes(msg, 'utf-8'))
print("done")
