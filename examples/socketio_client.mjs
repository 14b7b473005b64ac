// Log in, connect with socket.io-client, send with an ack, print what arrives.
// Usage: node examples/socketio_client.mjs http://localhost:8000 alice@example.com password123
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const [baseUrl, email, password] = process.argv.slice(2);
const login = await fetch(`${baseUrl}/auth/login`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ email, password }),
});
const { access_token: token } = await login.json();
const chats = await (
  await fetch(`${baseUrl}/chats`, { headers: { Authorization: `Bearer ${token}` } })
).json();

const socket = io(baseUrl, { auth: { token }, transports: ["websocket"] });
socket.on("connect_error", (err) => console.error("refused:", err.message));
socket.on("message", (m) => console.log("message:", m.seq, m.text));

const ack = await socket.timeout(5000).emitWithAck("send_message", {
  chat_id: chats[0].id,
  text: "Hello from JavaScript",
  client_msg_id: randomUUID(),
});
console.log(ack.ok ? `stored as seq ${ack.message.seq}` : `refused: ${ack.error.code}`);
setTimeout(() => socket.close(), 1000);
