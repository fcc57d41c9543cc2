import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * A loopback WebSocket server that speaks one venue's user stream: the venue-specific part (a
 * stream dialect) checks authentication as the venue documents it and renders its message
 * shapes; this engine keeps the connections and the scripted misbehaviour (drops, refused
 * connections, lost messages). Real sockets on port 0.
 */

export interface FakeStreamConn {
  /** Sends a frame; `binary` sends the UTF-8 bytes in a binary frame (Alpaca's paper endpoint). */
  send(text: string, binary?: boolean): void;
  close(code?: number, reason?: string): void;
  /** Dialect-owned per-connection state (authorized, subscriptions, sequence numbers...). */
  readonly state: Record<string, unknown>;
  readonly id: number;
}

export interface FakeStreamDialect {
  readonly path: string;
  onOpen?(conn: FakeStreamConn): void;
  onMessage(conn: FakeStreamConn, text: string): void;
  onClose?(conn: FakeStreamConn): void;
}

export interface FakeStream {
  /** ws://127.0.0.1:<port><path> */
  readonly url: string;
  /** Connections accepted so far (reconnects count). */
  readonly accepted: number;
  /** Frames each client sent, in order (what tests assert auth/subscribe messages on). */
  readonly received: string[];
  /** Live connections. */
  conns(): FakeStreamConn[];
  /** Cuts every connection without a close handshake (a network drop). */
  dropAll(): void;
  /** While true, upgrades are answered HTTP 503 (the stream is down; REST still works). */
  refuse(on: boolean): void;
  /** While true, pushed events are lost (not sent), as on a connection that silently stalls. */
  lose(on: boolean): void;
  readonly losing: boolean;
  close(): Promise<void>;
}

export async function startFakeStream(dialect: FakeStreamDialect): Promise<FakeStream> {
  const http = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  const live = new Map<WebSocket, FakeStreamConn>();
  const received: string[] = [];
  let accepted = 0;
  let refusing = false;
  let losing = false;
  let nextId = 1;

  http.on("upgrade", (req, socket, head) => {
    // Once upgraded, the socket is ours alone: a client resetting it (after our 503, or at close) must not become an uncaught ECONNRESET.
    socket.on("error", () => undefined);
    const path = (req.url ?? "/").split("?")[0];
    if (refusing || path !== dialect.path) {
      socket.end(`HTTP/1.1 ${refusing ? "503 Service Unavailable" : "404 Not Found"}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      accepted++;
      const conn: FakeStreamConn = {
        id: nextId++,
        state: {},
        send(text, binary = false) {
          if (ws.readyState === ws.OPEN) ws.send(binary ? Buffer.from(text, "utf8") : text, { binary });
        },
        close(code = 1000, reason = "") {
          ws.close(code, reason);
        },
      };
      live.set(ws, conn);
      ws.on("message", (data, isBinary) => {
        const text = isBinary ? Buffer.from(data as Buffer).toString("utf8") : String(data);
        received.push(text);
        dialect.onMessage(conn, text);
      });
      ws.on("close", () => {
        live.delete(ws);
        dialect.onClose?.(conn);
      });
      ws.on("error", () => undefined);
      dialect.onOpen?.(conn);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}${dialect.path}`,
    get accepted() {
      return accepted;
    },
    received,
    conns: () => [...live.values()],
    dropAll() {
      for (const ws of live.keys()) ws.terminate();
    },
    refuse(on) {
      refusing = on;
    },
    lose(on) {
      losing = on;
    },
    get losing() {
      return losing;
    },
    async close() {
      for (const ws of live.keys()) ws.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
