#!/usr/bin/env python3
"""A userspace netem for the harness: holds packets an iptables NFQUEUE rule hands it, then accepts them.

Why: kernels without sch_netem (this CI's VMs among them) still have NFQUEUE. The harness steers only the
faulted nodes' packets here (iptables -m owner --gid-owner ... -j NFQUEUE --queue-bypass), so nothing else
on loopback waits. Only packet metadata is copied to us (NFQNL_COPY_META): we never read or change payloads.

Usage: nfq_delay.py QUEUE SEED. Reads one JSON object per stdin line:
  {"delayMs": D, "jitterMs": J}            every packet held D +- J ms (uniform; netem's default)
  {"delayMs": D, "reorderPercent": P}      P% of packets go at once, the rest wait D ms (netem's reorder)
  {"release": true}                        every held packet goes now, new ones pass unheld
Prints "ready" once bound, "ok" after each command, and a JSON line of counts at exit (stdin closed).
Bounded: at most HELD_MAX packets wait; beyond that a packet is accepted at once (and counted).
"""
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
SO_RCVBUFFORCE = 33
HELD_MAX = 200_000
KERNEL_QUEUE_MAX = 65_536


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(msg_type, flags, seq, queue, attrs):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, seq, 0) + body


def main():
    queue = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((0, 0))
    seq = 0

    def request(attrs):
        nonlocal seq
        seq += 1
        sock.send(message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, queue, attrs))
        data = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from('=IHHII', data, 0)
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from('=i', data, 16)
            if err != 0:
                raise OSError(-err, f'nfqueue config of queue {queue} refused: {os.strerror(-err)}')

    request([attr(NFQA_CFG_CMD, struct.pack('=BxH', NFQNL_CFG_CMD_BIND, 0))])
    request([attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META))])
    request([attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', KERNEL_QUEUE_MAX))])
    # A full kernel queue accepts rather than drops: the fault is delay, not loss.
    request([attr(NFQA_CFG_MASK, struct.pack('>I', NFQA_CFG_F_FAIL_OPEN)), attr(NFQA_CFG_FLAGS, struct.pack('>I', NFQA_CFG_F_FAIL_OPEN))])
    sock.setblocking(False)

    def verdict(packet_id):
        sock.send(message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, 0, queue, [attr(NFQA_VERDICT_HDR, struct.pack('>II', NF_ACCEPT, packet_id))]))

    params = {}
    held = []  # (due, packet id)
    counts = {'packets': 0, 'held': 0, 'immediate': 0, 'overflow': 0, 'maxHeld': 0}
    stdin = sys.stdin.fileno()
    stdin_open = True
    print('ready', flush=True)
    pending_in = b''
    while stdin_open or held:
        now = time.monotonic()
        while held and held[0][0] <= now:
            verdict(heapq.heappop(held)[1])
        timeout = max(0.0, held[0][0] - now) if held else 1.0
        readable, _, _ = select.select([sock] + ([stdin] if stdin_open else []), [], [], timeout)
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                stdin_open = False
                params = {}
            pending_in += chunk
            while b'\n' in pending_in:
                line, pending_in = pending_in.split(b'\n', 1)
                if not line.strip():
                    continue
                command = json.loads(line)
                if command.get('release'):
                    params = {}
                    while held:
                        verdict(heapq.heappop(held)[1])
                else:
                    params = command
                print('ok', flush=True)
        if sock not in readable:
            continue
        # Bounded: one recv per packet message, at most this many before the due list is looked at again.
        for _ in range(1024):
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                break
            except OSError:
                # ENOBUFS: the kernel dropped our copy of some messages; their packets wait until unbind.
                continue
            offset = 0
            while offset + 16 <= len(data):
                length, kind, _, _, _ = struct.unpack_from('=IHHII', data, offset)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    packet_id = None
                    at = offset + 20
                    end = offset + length
                    while at + 4 <= end:
                        alen, akind = struct.unpack_from('=HH', data, at)
                        if alen < 4:
                            break
                        if akind & 0x3fff == NFQA_PACKET_HDR:
                            (packet_id,) = struct.unpack_from('>I', data, at + 4)
                            break
                        at += (alen + 3) & ~3
                    if packet_id is not None:
                        counts['packets'] += 1
                        delay_ms = params.get('delayMs', 0)
                        if 'reorderPercent' in params and rng.random() * 100 < params['reorderPercent']:
                            delay_ms = 0
                        elif params.get('jitterMs'):
                            delay_ms = max(0.0, delay_ms + rng.uniform(-params['jitterMs'], params['jitterMs']))
                        if delay_ms <= 0:
                            counts['immediate'] += 1
                            verdict(packet_id)
                        elif len(held) >= HELD_MAX:
                            counts['overflow'] += 1
                            verdict(packet_id)
                        else:
                            counts['held'] += 1
                            heapq.heappush(held, (time.monotonic() + delay_ms / 1000.0, packet_id))
                            counts['maxHeld'] = max(counts['maxHeld'], len(held))
                offset += (length + 3) & ~3
    print(json.dumps(counts), flush=True)


if __name__ == '__main__':
    main()
