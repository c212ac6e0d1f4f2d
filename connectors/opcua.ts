// OPC UA client for SCADA: reads tags and writes setpoints with the DataType the tag map declares.
// Each operation opens a session and closes it in `finally` (withSessionAsync), so a dead link never
// leaves half-open sessions behind; the reconnection strategy is explicit and bounded.
import {
  AttributeIds,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  ServerState,
  UserTokenType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
} from 'node-opcua';
import type { ResolvedTag, TagDataType } from '../network/tags.js';
import type { TagReading } from '../activities/types.js';

export interface OpcUaConnectorOptions {
  endpointUrl: string;
  securityMode: 'None' | 'SignAndEncrypt';
  userName?: string;
  password?: string;
  /** Folder for the client's own certificate (needed for SignAndEncrypt). */
  pkiFolder?: string;
  /**
   * Accept a server certificate that is not in `<pkiFolder>/trusted/certs` (default false). Only for the
   * embedded simulator: accepting any certificate gives up SignAndEncrypt's protection against a man in the middle.
   */
  acceptUnknownServerCertificate?: boolean;
  connectTimeoutMs?: number;
}

export interface SetpointWrite {
  tag: ResolvedTag;
  value: number;
}

export interface WriteOutcome {
  nodeId: string;
  statusCode: string;
  good: boolean;
}

const dataTypes: Record<TagDataType, DataType> = {
  Double: DataType.Double,
  Int32: DataType.Int32,
  UInt32: DataType.UInt32,
  Boolean: DataType.Boolean,
};

export class OpcUaError extends Error {
  override readonly name = 'OpcUaError';
}

export interface OpcUaConnector {
  readTags(tags: readonly ResolvedTag[]): Promise<TagReading[]>;
  writeSetpoints(writes: readonly SetpointWrite[]): Promise<WriteOutcome[]>;
  ping(): Promise<{ latencyMs: number; serverState: string }>;
  close(): Promise<void>;
}

export function createOpcUaConnector(options: OpcUaConnectorOptions): OpcUaConnector {
  const secure = options.securityMode === 'SignAndEncrypt';
  const certificateManager = options.pkiFolder
    ? new OPCUACertificateManager({ rootFolder: options.pkiFolder, automaticallyAcceptUnknownCertificate: options.acceptUnknownServerCertificate ?? false })
    : undefined;
  const client = OPCUAClient.create({
    applicationName: 'sewer-dispatch',
    endpointMustExist: false,
    securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
    securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
    // Fail fast inside an activity; Temporal's retry policy owns the backoff between attempts.
    connectionStrategy: { maxRetry: 1, initialDelay: 250, maxDelay: 1000 },
    requestedSessionTimeout: 60_000,
    ...(certificateManager ? { clientCertificateManager: certificateManager } : {}),
  });
  const userIdentity: UserIdentityInfo =
    options.userName && options.password
      ? { type: UserTokenType.UserName, userName: options.userName, password: options.password }
      : { type: UserTokenType.Anonymous };

  async function withSession<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
    try {
      return await client.withSessionAsync({ endpointUrl: options.endpointUrl, userIdentity }, work);
    } catch (error) {
      if (error instanceof OpcUaError) throw error;
      throw new OpcUaError(`OPC UA ${options.endpointUrl}: ${(error as Error).message}`);
    }
  }

  const toReading = (tag: ResolvedTag, dataValue: DataValue): TagReading => {
    const good = dataValue.statusCode.isGood();
    const raw: unknown = dataValue.value?.value;
    const value = typeof raw === 'number' || typeof raw === 'boolean' ? raw : null;
    return {
      objectId: tag.objectId,
      tag: tag.tag,
      nodeId: tag.nodeId,
      value: good ? value : null,
      statusCode: dataValue.statusCode.name,
      good: good && value !== null,
      sourceTimeUtcMs: dataValue.sourceTimestamp ? dataValue.sourceTimestamp.getTime() : null,
    };
  };

  return {
    async readTags(tags) {
      return withSession(async (session) => {
        const values = await session.read(tags.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })));
        return tags.map((tag, i) => toReading(tag, values[i]!));
      });
    },

    async writeSetpoints(writes) {
      for (const w of writes) {
        if (w.tag.access !== 'write') throw new OpcUaError(`${w.tag.objectId}.${w.tag.tag} (${w.tag.nodeId}) is read-only`);
        if (!Number.isFinite(w.value)) throw new OpcUaError(`${w.tag.objectId}.${w.tag.tag}: refusing to write non-finite value ${w.value}`);
        // An integer tag would truncate or refuse a fraction on the server: refuse it here, before anything is written.
        if ((w.tag.dataType === 'Int32' || w.tag.dataType === 'UInt32') && !Number.isInteger(w.value)) {
          throw new OpcUaError(`${w.tag.objectId}.${w.tag.tag} (${w.tag.dataType}): refusing to write non-integer value ${w.value}`);
        }
        if (w.tag.dataType === 'UInt32' && w.value < 0) throw new OpcUaError(`${w.tag.objectId}.${w.tag.tag} (UInt32): refusing to write negative value ${w.value}`);
      }
      return withSession(async (session) => {
        const codes = await session.write(
          writes.map((w) => ({
            nodeId: w.tag.nodeId,
            attributeId: AttributeIds.Value,
            value: { value: { dataType: dataTypes[w.tag.dataType], value: w.tag.dataType === 'Boolean' ? w.value !== 0 : w.value } },
          })),
        );
        return writes.map((w, i) => ({ nodeId: w.tag.nodeId, statusCode: codes[i]!.name, good: codes[i]!.isGood() }));
      });
    },

    async ping() {
      const started = performance.now();
      const serverState = await withSession(async (session) => {
        const state = await session.read({ nodeId: 'ns=0;i=2259', attributeId: AttributeIds.Value });
        const code = state.value?.value as number | undefined;
        return code === undefined ? 'unknown' : (ServerState[code] ?? String(code));
      });
      return { latencyMs: performance.now() - started, serverState };
    },

    async close() {
      await client.disconnect();
    },
  };
}
