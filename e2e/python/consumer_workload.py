"""A consumer of the nemesis workload (librdkafka through confluent-kafka) that reads until told to stop.

usage: consumer_workload.py assign BOOTSTRAP TOPIC STOP_FILE
       consumer_workload.py subscribe BOOTSTRAP TOPIC STOP_FILE GROUP
`assign` assigns every partition of TOPIC from the beginning; `subscribe` joins GROUP (no auto-commit: it commits
synchronously after each batch it read, so a rebalance resumes right after the last record handed out).
JSON lines on stdout:
  {"assign": [[p, offset], ...]} when partitions are assigned (offset: the first offset the consumer expects to read,
      null when unknown), {"revoke": [p, ...]} when a rebalance takes them away (subscribe mode),
  {"p": partition, "o": offset, "v": value} for every record read, {"err": text} for errors,
  {"done": true, "read": N} at the end.
TRIB_CONSUMER_START_DELAY_MS (subscribe mode) delays joining the group, so that the join rebalances the others.
Nothing is retained per record, so memory stays flat however long the run is.
"""
import json
import os
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

mode = sys.argv[1]
if mode not in ('assign', 'subscribe') or len(sys.argv) < (6 if mode == 'subscribe' else 5):
    sys.exit(__doc__)
bootstrap, topic, stop_file = sys.argv[2:5]
group = sys.argv[5] if mode == 'subscribe' else f'trib-unused-{os.getpid()}'

# Bounds: a batch is at most this many records; a commit is tried this many times before it is reported failed.
BATCH_MAX = 500
COMMIT_TRIES = 5
CALL_TIMEOUT_S = 5.0


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'topic.metadata.refresh.interval.ms': 1000,
    'session.timeout.ms': 10000,
    'heartbeat.interval.ms': 1000,
    # Bounded prefetch (memory cap): at most ~1 MB queued per partition.
    'queued.max.messages.kbytes': 1024,
    'error_cb': lambda err: emit({'err': f'librdkafka: {err}'}),
})


def committed_positions(partitions):
    """Where the group resumes each partition: its committed offset, else null (earliest; the checker seeds nothing)."""
    try:
        got = consumer.committed(partitions, timeout=CALL_TIMEOUT_S)
    except KafkaException as e:
        emit({'err': f'committed offsets of {[tp.partition for tp in partitions]}: {e}'})
        return [[tp.partition, None] for tp in partitions]
    for tp in got:
        if tp.error is not None:
            emit({'err': f'committed offset of partition {tp.partition}: {tp.error}'})
    return [[tp.partition, tp.offset if tp.offset >= 0 and tp.error is None else None] for tp in got]


def on_assign(c, partitions):
    emit({'assign': committed_positions(partitions)})


def on_revoke(c, partitions):
    emit({'revoke': [tp.partition for tp in partitions]})


def commit():
    for attempt in range(COMMIT_TRIES):
        try:
            consumer.commit(asynchronous=False)
            return
        except KafkaException as e:
            code = e.args[0].code() if e.args else None
            # Nothing to commit (no position moved), or the partitions were revoked meanwhile: not a failure.
            if code in (KafkaError._NO_OFFSET, KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID):
                return
            if attempt == COMMIT_TRIES - 1:
                emit({'err': f'commit failed {COMMIT_TRIES} times: {e}'})
                return
            time.sleep(0.2 * (attempt + 1))


if mode == 'assign':
    count = None
    while count is None and not os.path.exists(stop_file):
        try:
            md = consumer.list_topics(topic, timeout=CALL_TIMEOUT_S)
            t = md.topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) > 0:
                count = len(t.partitions)
        except KafkaException as e:
            emit({'err': f'metadata of {topic}: {e}'})
            time.sleep(0.5)
    if count is not None:
        # From the log start: no retention in a run, so the log start is 0 unless a watermark says otherwise.
        starts = []
        for p in range(count):
            try:
                low, _high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=CALL_TIMEOUT_S)
                starts.append([p, low if low >= 0 else None])
            except KafkaException:
                starts.append([p, None])
        emit({'assign': starts})
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
else:
    # A member that joins late makes the group rebalance while the others are reading (TRIB_CONSUMER_START_DELAY_MS).
    join_at = time.monotonic() + float(os.environ.get('TRIB_CONSUMER_START_DELAY_MS', '0')) / 1000
    while time.monotonic() < join_at and not os.path.exists(stop_file):
        time.sleep(0.1)
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

read = 0
while not os.path.exists(stop_file):
    msgs = consumer.consume(num_messages=BATCH_MAX, timeout=0.5)
    got = 0
    for m in msgs:
        err = m.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                emit({'err': str(err)})
            continue
        v = m.value()
        emit({'p': m.partition(), 'o': m.offset(), 'v': v.decode() if v is not None else None})
        got += 1
    read += got
    if mode == 'subscribe' and got > 0:
        commit()
consumer.close()
emit({'done': True, 'read': read})
