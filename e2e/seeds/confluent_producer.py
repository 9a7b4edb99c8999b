# Seed 000, "Example: Sending a Message to a Topic" (bootstrap from TRIB_BOOTSTRAP).
import os

from confluent_kafka import Producer

# Kafka settings
conf = {'bootstrap.servers': os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092')}

# Creating a Producer object
producer = Producer(**conf)

# Sending a message to the 'my_topic' topic
producer.produce('my_topic', key='key', value='Hello, Kafka!')

# Waiting for all messages to be sent
producer.flush()
