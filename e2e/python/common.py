"""Shared helpers for the e2e python clients (run with /usr/bin/python3).

binary_record(i, tag) must match binaryRecord() in e2e/support/records.ts byte for byte.
Every script prints JSON lines on stdout; diagnostics go to stderr.
"""
import base64
import json
import sys


def binary_record(i, tag):
    length = 1 + ((i * 37) % 400)
    value = bytes(((i * 131 + j * 17) & 0xFF) for j in range(length))
    headers = [
        ('seq', str(i).encode()),
        ('tag', tag.encode()),
        ('bin', bytes([(i >> 8) & 0xFF, i & 0xFF, 0, 255])),
    ]
    return ('key-%d' % i).encode(), value, headers


def b64(data):
    return None if data is None else base64.b64encode(bytes(data)).decode('ascii')


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')


def emit_record(offset, key, value, headers):
    emit({'o': offset, 'k': b64(key), 'v': b64(value), 'h': [[k, b64(v)] for k, v in (headers or [])]})


def log(*args):
    print(*args, file=sys.stderr, flush=True)
