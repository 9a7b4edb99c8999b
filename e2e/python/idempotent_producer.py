"""An idempotent, acks=all producer (librdkafka through confluent-kafka) writing unique values until told to stop.

usage: idempotent_producer.py BOOTSTRAP TOPIC NAME STOP_FILE [RATE_PER_S]
Values are NAME-SEQ (SEQ counts from 0). Every delivery report is one JSON line on stdout:
  {"v": value, "p": partition, "o": offset} when acknowledged, {"v": value, "err": text} when it failed.
It stops producing when STOP_FILE exists, then waits for every outstanding delivery report and prints
{"done": true, "sent": N, "unflushed": U, "epochBumps": B, "fatal": F}. B counts librdkafka's producer-epoch bumps:
after one, librdkafka re-sends every possibly persisted message under the new epoch, so a value the broker had
already stored is stored again; a broker must never give it cause (tests assert B = 0).
"""
import json
import logging
import os
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, name, stop_file = sys.argv[1:5]
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 200.0

class IdempotenceEvents(logging.Handler):
    """librdkafka's log lines (debug=eos) to stderr, counting epoch bumps and fatal errors."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.epoch_bumps = 0
        self.fatal = 0

    def emit(self, record):
        line = record.getMessage()
        if 'bumped epoch to' in line:
            self.epoch_bumps += 1
        if 'Fatal error' in line:
            self.fatal += 1
        print(line, file=sys.stderr, flush=True)


events = IdempotenceEvents()
librdkafka_log = logging.getLogger('librdkafka')
librdkafka_log.setLevel(logging.DEBUG)
librdkafka_log.propagate = False
librdkafka_log.addHandler(events)

producer = Producer({
    'bootstrap.servers': bootstrap,
    'enable.idempotence': True,
    'acks': 'all',
    'linger.ms': 5,
    # Failovers take a few seconds; a record may wait through several of them.
    'message.timeout.ms': 120000,
    # How long the broker may hold an acks=all request for the in-sync replicas (librdkafka's own deadline for a
    # request in flight is socket.timeout.ms, 60 s). Timeouts are retried under the same epoch and sequence.
    'request.timeout.ms': int(os.environ.get('TRIB_PRODUCER_REQUEST_TIMEOUT_MS', '30000')),
    'error_cb': lambda err: print(f'librdkafka error: {err}', file=sys.stderr, flush=True),
    # Idempotence events (producer id and epoch changes, drains) on stderr: they tell a client-side epoch bump apart
    # from a broker that forgot a producer's state.
    # eos always (the bump count needs it); TRIB_PRODUCER_DEBUG adds contexts (e.g. msg,protocol).
    'debug': ','.join(c for c in ['eos', os.environ.get('TRIB_PRODUCER_DEBUG', '')] if c),
    'logger': librdkafka_log,
    'retry.backoff.ms': 100,
    'topic.metadata.refresh.interval.ms': 1000,
})


def report(err, msg):
    value = msg.value().decode()
    if err is None:
        print(json.dumps({'v': value, 'p': msg.partition(), 'o': msg.offset()}), flush=True)
    else:
        print(json.dumps({'v': value, 'err': str(err)}), flush=True)


seq = 0
interval = 1.0 / rate
next_at = time.monotonic()
while not os.path.exists(stop_file):
    value = f'{name}-{seq}'
    try:
        producer.produce(topic, key=value.encode(), value=value.encode(), on_delivery=report)
        seq += 1
    except BufferError:
        producer.poll(0.05)
        continue
    producer.poll(0)
    next_at += interval
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
remaining = producer.flush(150)
producer.poll(0)  # delivers the last queued log lines to the handler
print(json.dumps({'done': True, 'sent': seq, 'unflushed': remaining, 'epochBumps': events.epoch_bumps, 'fatal': events.fatal}), flush=True)
