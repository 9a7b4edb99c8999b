# Seed 002, "Python Consumer" (bootstrap from TRIB_BOOTSTRAP; stops after TRIB_SEED_MESSAGES messages).
import os

from kafka import KafkaConsumer

limit = int(os.environ.get('TRIB_SEED_MESSAGES', '1'))

def kafka_python_consumer():
    consumer = KafkaConsumer('mytesttopic', group_id='mypythonconsumer', bootstrap_servers=os.environ.get('TRIB_BOOTSTRAP', 'localhost:9092'))
    received = 0
    for msg in consumer:
        print(msg, flush=True)
        received += 1
        if received >= limit:
            break

print("start consuming", flush=True)
kafka_python_consumer()
print("done")
