import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { KafkaConnection, type ConnectionOptions } from '../src/connection.ts';
import { ConnectionError, RequestTimeoutError } from '../src/errors.ts';
import { Api } from '../src/versions.ts';
import { FakeBroker, jsonCodec, responseFrame, type FakeRequest, type Handler } from './fake-broker.ts';

const brokers: FakeBroker[] = [];
const connections: KafkaConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function setup(handler: Handler, options: Partial<ConnectionOptions> = {}): Promise<{ broker: FakeBroker; conn: KafkaConnection }> {
  const broker = await new FakeBroker(handler).start();
  brokers.push(broker);
  const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port, codec: jsonCodec, ...options });
  connections.push(conn);
  return { broker, conn };
}

function unexpected(): Error {
  return new Error('expected a rejection');
}

const echo: Handler = (req, reply) => reply({ echo: req.body, correlationId: req.correlationId });

function waitFor(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const poll = (): void => {
      if (condition()) return resolve();
      if (++tries > 500) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

describe('KafkaConnection framing', () => {
  it('reassembles a response split into 1-byte chunks', async () => {
    const { conn } = await setup((req, _reply, socket) => {
      const frame = responseFrame(req.correlationId, { hello: 'world'.repeat(50) });
      let i = 0;
      const next = (): void => {
        if (i >= frame.length) return;
        socket.write(frame.subarray(i, i + 1));
        i++;
        setImmediate(next);
      };
      next();
    });
    const body = await conn.request<{ hello: string }>(Api.Metadata, 9, {});
    expect(body.hello).toBe('world'.repeat(50));
  });

  it('splits several responses that arrive in one chunk, and a size prefix split across chunks', async () => {
    const held: FakeRequest[] = [];
    const { conn } = await setup((req, _reply, socket) => {
      held.push(req);
      if (held.length < 3) return;
      const all = Buffer.concat(held.map((r) => responseFrame(r.correlationId, { n: r.body.n })));
      // First chunk ends two bytes into the second frame's size prefix.
      const firstLen = responseFrame(held[0]!.correlationId, { n: held[0]!.body.n }).length + 2;
      socket.write(all.subarray(0, firstLen));
      setTimeout(() => socket.write(all.subarray(firstLen)), 20);
    });
    const results = await Promise.all([0, 1, 2].map((n) => conn.request<{ n: number }>(Api.Metadata, 9, { n })));
    expect(results.map((r) => r.n)).toEqual([0, 1, 2]);
  });

  it('closes the connection on a frame larger than maxFrameBytes, naming the broker', async () => {
    const { conn, broker } = await setup(
      (req, reply) => reply({ big: 'x'.repeat(2000), c: req.correlationId }),
      { maxFrameBytes: 1000 },
    );
    const err = await conn.request(Api.Fetch, 12, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${broker.port}`);
    expect((err as Error).message).toContain('limit 1000');
    expect(conn.closed).toBe(true);
  });

  it('rejects a negative frame size', async () => {
    const { conn } = await setup((_req, _reply, socket) => {
      const bad = Buffer.alloc(8);
      bad.writeInt32BE(-5, 0);
      socket.write(bad);
    });
    await expect(conn.request(Api.Metadata, 9, {})).rejects.toThrow(/frame of -5 bytes/);
  });
});

describe('KafkaConnection correlation', () => {
  it('matches responses answered out of order to their requests', async () => {
    const held: { req: FakeRequest; reply: (b: unknown) => void }[] = [];
    const { conn } = await setup((req, reply) => {
      held.push({ req, reply });
      if (held.length === 5) for (const h of held.reverse()) h.reply({ n: h.req.body.n });
    });
    const results = await Promise.all([0, 1, 2, 3, 4].map((n) => conn.request<{ n: number }>(Api.Metadata, 9, { n })));
    expect(results.map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('uses distinct, increasing correlation ids and sends the api key and version', async () => {
    const { conn, broker } = await setup(echo);
    await conn.request(Api.Metadata, 9, {});
    await conn.request(Api.Fetch, 12, {});
    expect(broker.requests.map((r) => [r.apiKey, r.apiVersion, r.correlationId])).toEqual([
      [3, 9, 0],
      [1, 12, 1],
    ]);
  });

  it('drops a response for an unknown correlation id and keeps serving', async () => {
    const { conn } = await setup((req, reply, socket) => {
      socket.write(responseFrame(9999, { stray: true }));
      reply({ ok: req.correlationId });
    });
    await expect(conn.request(Api.Metadata, 9, {})).resolves.toEqual({ ok: 0 });
  });

  it('fails only the request whose response cannot be decoded', async () => {
    const { conn } = await setup((req, reply) => reply(req.body.bad ? 'garbage' : { ok: true }));
    await expect(conn.request(Api.Metadata, 9, { bad: true })).rejects.toThrow(/cannot decode Metadata v9 response from broker 127\.0\.0\.1:\d+/);
    await expect(conn.request(Api.Metadata, 9, {})).resolves.toEqual({ ok: true });
  });

  it('resolves requests that expect no response once written', async () => {
    const { conn, broker } = await setup(() => {});
    await expect(conn.request(Api.Produce, 9, { acks: 0 }, { expectResponse: false })).resolves.toBeUndefined();
    await waitFor(() => broker.requests.length === 1, 'the produce to arrive');
    expect(conn.inFlightCount).toBe(0);
  });
});

describe('KafkaConnection bounds', () => {
  it('keeps at most maxInFlight requests on the wire and queues the rest in order', async () => {
    const held: { req: FakeRequest; reply: (b: unknown) => void }[] = [];
    const { conn, broker } = await setup((req, reply) => held.push({ req, reply }), { maxInFlight: 2 });
    const promises = [0, 1, 2, 3, 4].map((n) => conn.request<{ n: number }>(Api.Metadata, 9, { n }));
    await waitFor(() => broker.requests.length === 2, 'two requests');
    expect(conn.inFlightCount).toBe(2);
    expect(conn.queuedCount).toBe(3);
    // Give queued requests a chance to leak onto the wire; they must not.
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.requests.length).toBe(2);
    // Each answer admits one more.
    for (let answered = 0; answered < 5; answered++) {
      await waitFor(() => held.length > answered, `request ${answered}`);
      const h = held[answered]!;
      h.reply({ n: h.req.body.n });
      expect(conn.inFlightCount).toBeLessThanOrEqual(2);
    }
    expect((await Promise.all(promises)).map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
    expect(broker.requests.map((r) => r.body.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a request when the wait queue is full', async () => {
    const { conn } = await setup(() => {}, { maxInFlight: 1, maxQueued: 1, requestTimeoutMs: 60_000 });
    const first = conn.request(Api.Metadata, 9, {}).catch((e: unknown) => e);
    const second = conn.request(Api.Metadata, 9, {}).catch((e: unknown) => e);
    await expect(conn.request(Api.Fetch, 12, {})).rejects.toThrow(/too many requests queued .*Fetch v12 refused/);
    await conn.close();
    expect(await first).toBeInstanceOf(ConnectionError);
    expect(await second).toBeInstanceOf(ConnectionError);
  });
});

describe('KafkaConnection timeouts', () => {
  it('times out a request that gets no answer, names the broker and API, and stays usable', async () => {
    const { conn, broker } = await setup((req, reply) => {
      if (req.body.slow) setTimeout(() => reply({ late: true }), 100);
      else reply({ fast: true });
    });
    const err = await conn.request(Api.ListOffsets, 7, { slow: true }, { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as Error).message).toBe(`ListOffsets v7 to broker 127.0.0.1:${broker.port} timed out after 20 ms waiting for the response`);
    expect(conn.inFlightCount).toBe(0);
    await new Promise((r) => setTimeout(r, 150)); // the late answer arrives and is dropped
    await expect(conn.request(Api.Metadata, 9, {})).resolves.toEqual({ fast: true });
  });

  it('times out a request still waiting for an in-flight slot', async () => {
    const { conn } = await setup(() => {}, { maxInFlight: 1 });
    const first = conn.request(Api.Metadata, 9, {}, { timeoutMs: 5000 }).then(unexpected, (e: unknown) => e as Error);
    await expect(conn.request(Api.Metadata, 9, {}, { timeoutMs: 20 })).rejects.toThrow(/waiting for an in-flight slot/);
    expect(conn.queuedCount).toBe(1); // skipped lazily, never sent
    await conn.close();
    expect((await first).message).toMatch(/closed by the client/);
  });
});

describe('KafkaConnection connection loss', () => {
  it('rejects every outstanding request with an error naming the broker and the APIs', async () => {
    const { conn, broker } = await setup((req, _reply, socket) => {
      if (req.apiKey === Api.Fetch) socket.destroy();
    });
    const metadata = conn.request(Api.Metadata, 9, {});
    const fetch = conn.request(Api.Fetch, 12, {});
    const errors = await Promise.all([metadata, fetch].map((p) => p.then(unexpected, (e: unknown) => e as Error)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.message).toMatch(new RegExp(`^connection to broker 127\\.0\\.0\\.1:${broker.port} lost during (Metadata v9, Fetch v12|Fetch v12, Metadata v9)`));
    }
    expect(conn.closed).toBe(true);
    await expect(conn.request(Api.Metadata, 9, {})).rejects.toBeInstanceOf(ConnectionError);
  });

  it('close() rejects pending requests and resolves', async () => {
    const { conn } = await setup(() => {});
    const pending = conn.request(Api.Metadata, 9, {}).then(unexpected, (e: unknown) => e as Error);
    await conn.close();
    expect((await pending).message).toMatch(/closed by the client/);
  });

  it('reports a refused connection with the broker address', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(KafkaConnection.connect({ host: '127.0.0.1', port, codec: jsonCodec })).rejects.toThrow(
      `cannot connect to broker 127.0.0.1:${port}: ECONNREFUSED`,
    );
  });
});
