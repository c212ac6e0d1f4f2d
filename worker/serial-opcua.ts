// One OPC UA operation at a time through a connector. The connector opens a session per call on one
// client, and two calls that overlap fail with "client#connect failed, as invalid internal state =
// connecting"; activities running side by side (a step write, a flood assessment) and the heartbeat all
// share it, so the worker wiring queues their calls instead. Each call is short (one read or write).
import type { OpcUaConnector } from '../connectors/opcua.js';

const serialised = Symbol('serialised OPC UA connector');

export function serialiseOpcUa(connector: OpcUaConnector): OpcUaConnector {
  if ((connector as OpcUaConnector & { [serialised]?: true })[serialised]) return connector;
  let tail: Promise<unknown> = Promise.resolve();
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  return Object.assign(
    {
      readTags: (tags: Parameters<OpcUaConnector['readTags']>[0]) => run(() => connector.readTags(tags)),
      writeSetpoints: (writes: Parameters<OpcUaConnector['writeSetpoints']>[0]) => run(() => connector.writeSetpoints(writes)),
      ping: () => run(() => connector.ping()),
      close: () => connector.close(),
    },
    { [serialised]: true as const },
  );
}
