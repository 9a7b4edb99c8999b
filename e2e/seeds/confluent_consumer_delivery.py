# Seed 000, "Example: Configuring Delivery Guarantees in Kafka": that conf, used with the consumer loop of
# the same lesson (bootstrap from TRIB_BOOTSTRAP; stops after TRIB_SEED_MESSAGES messages).
import os

from confluent_kafka import Consumer, KafkaError

limit = int(os.environ.get('TRIB_SEED_MESSAGES', '1'))
received = 0

# Kafka settings
conf = {'bootstrap.servers': os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'),
        'group.id': 'my_consumer_group',
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest'}

consumer = Consumer(**conf)
consumer.subscribe(['my_topic'])

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

consumer.close()
