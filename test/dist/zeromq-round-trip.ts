// A ZeroMQ round trip through a built executable: it must load the zeromq addon shipped beside it
// (<dir of the executable>/../lib/sparkngin/zeromq.node, src/zeromq/load-addon.ts) and deliver
// events posted over HTTP and sent by a DEALER into its ROUTER (ZeroMQ ingest, answered once
// stored) to a PULL peer (its PUSH sink) and a SUB peer (its PUB sink). Proves the addon directory
// of each package, rather than assuming it.
import { expect } from 'vitest';
import { Dealer, Pull, Subscriber } from 'zeromq';
import { postEvents, startDaemon } from '../integration/daemon-process';
import { freePort } from '../peers/ports';
import { until } from '../wait';

export async function zeromqRoundTrip(executable: string): Promise<void> {
  const push = `tcp://127.0.0.1:${await freePort()}`;
  const pub = `tcp://127.0.0.1:${await freePort()}`;
  const router = `tcp://127.0.0.1:${await freePort()}`;
  const daemon = await startDaemon({
    executable,
    config: { sinks: { file: { enabled: false }, zeromq: { endpoint: push }, taps: { kind: 'zeromq', endpoint: pub, socket: 'pub' } }, zmq: { router } },
  });
  const pull = new Pull();
  const sub = new Subscriber();
  const dealer = new Dealer({ linger: 0 });
  try {
    pull.connect(push);
    sub.connect(pub);
    sub.subscribe('zmq.');
    const taps = async () => ((await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: any[] }).sinks.find((sink) => sink.sink === 'taps');
    await until(async () => (await taps())?.destination?.subscriptions === 1, 'the PUB sink knows the subscriber', 30_000);
    const events = [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }];
    expect((await postEvents(daemon.url, 'zmq.trip', events.slice(0, 3))).status).toBe(202);
    dealer.connect(router);
    await dealer.send(['zmq.trip?type=json', ...events.slice(3).map((event) => JSON.stringify(event))]);
    const [answer] = await dealer.receive();
    expect(JSON.parse(answer!.toString())).toMatchObject({ status: 202, accepted: 2 });
    const pulled: unknown[] = [];
    const subscribed: unknown[] = [];
    for (let i = 0; i < events.length; i++) {
      const [payload] = await pull.receive();
      pulled.push(JSON.parse(payload!.toString()));
      const [topic, data] = await sub.receive();
      subscribed.push([topic!.toString(), JSON.parse(data!.toString())]);
    }
    expect(pulled).toEqual(events);
    expect(subscribed).toEqual(events.map((event) => ['zmq.trip', event]));
  } finally {
    pull.close();
    sub.close();
    dealer.close();
    await daemon.close();
  }
}
