# Seed 000, "Example: Receiving a Message from a Topic" (bootstrap from TRIB_BOOTSTRAP; the loop stops
# after TRIB_SEED_MESSAGES messages instead of running forever).
import os

from confluent_kafka import Consumer, KafkaError

limit = int(os.environ.get('TRIB_SEED_MESSAGES', '1'))
received = 0

# Kafka settings
conf = {'bootstrap.servers': os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'), 'group.id': 'my_consumer_group'}

# Creating a Consumer object
consumer = Consumer(**conf)

# Subscribing to the 'my_topic' topic
consumer.subscribe(['my_topic'])

# Receiving messages from the topic
while received < limit:
    msg = consumer.poll(1.0)

    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            continue
        else:
            print(msg.error())
            break

    print('Received message: {}'.format(msg.value().decode('utf-8')), flush=True)
    received += 1

# Closing the Kafka connection
consumer.close()
