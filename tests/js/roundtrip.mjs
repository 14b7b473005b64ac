// Drives the server with the npm socket.io-client: connect, send with ack, receive.
// Usage: node roundtrip.mjs BASE_URL SENDER_TOKEN RECEIVER_TOKEN CHAT_ID
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const [baseUrl, senderToken, receiverToken, chatId] = process.argv.slice(2);
const open = (token) =>
  new Promise((resolve, reject) => {
    const socket = io(baseUrl, { auth: { token }, transports: ["websocket"], reconnection: false });
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (err) => reject(err));
  });

const result = {};
try {
  await open("bad-token");
} catch (err) {
  result.refused = err.message;
}
const sender = await open(senderToken);
const receiver = await open(receiverToken);
const received = new Promise((resolve) => receiver.on("message", resolve));
const clientMsgId = randomUUID();
result.ack = await sender
  .timeout(5000)
  .emitWithAck("send_message", { chat_id: Number(chatId), text: "from node", client_msg_id: clientMsgId });
result.duplicate = await sender
  .timeout(5000)
  .emitWithAck("send_message", { chat_id: Number(chatId), text: "from node", client_msg_id: clientMsgId });
result.received = await received;
result.transport = sender.io.engine.transport.name;
sender.close();
receiver.close();
console.log(JSON.stringify(result));
