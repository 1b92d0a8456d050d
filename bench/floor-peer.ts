/**
 * The messaging floor: the same 5 messages per round as the protocol (move to tier 0, leader's
 * submission, move to tier 1, follower's submission, outcome) with payloads of the same size,
 * exchanged by bare NATS clients in separate processes with no protocol logic at all.
 * Usage: node floor-peer.js market|leader|follower <url> <rounds> <warmup> <move0> <submission> <move1> <outcome>
 * (the last four: payload sizes in bytes, measured from the framework's own encoded messages). The
 * market peer prints the rate over all rounds and over the rounds after the first <warmup>.
 */
import { connect } from "@nats-io/transport-node";

const [role, url, roundsArg, warmupArg, ...sizeArgs] = process.argv.slice(2);
const rounds = Number(roundsArg);
const warmup = Number(warmupArg);
const [move0Size, submissionSize, move1Size, outcomeSize] = sizeArgs.map(Number) as [number, number, number, number];
const nc = await connect({ servers: url ?? "" });
const bytes = (n: number) => new Uint8Array(n);
const P = "floor";

if (role === "leader" || role === "follower") {
  const tier = role === "leader" ? 0 : 1;
  const reply = bytes(submissionSize);
  const sub = nc.subscribe(`${P}.move.${tier}`, { callback: () => nc.publish(`${P}.submit.${role}`, reply) });
  nc.subscribe(`${P}.end`, { callback: () => void sub.unsubscribe() });
  await nc.flush();
  process.stdout.write("ready\n");
  await new Promise<void>((r) => nc.subscribe(`${P}.end`, { callback: () => r() }));
  await nc.drain();
} else {
  const move0 = bytes(move0Size);
  const move1 = bytes(move1Size);
  const outcome = bytes(outcomeSize);
  let round = 0;
  let start = 0;
  let warm = 0;
  const done = new Promise<void>((resolve) => {
    nc.subscribe(`${P}.submit.leader`, { callback: () => nc.publish(`${P}.move.1`, move1) });
    nc.subscribe(`${P}.submit.follower`, {
      callback: () => {
        nc.publish(`${P}.outcome`, outcome);
        round++;
        if (round === 1) start = performance.now();
        if (round === warmup + 1) warm = performance.now();
        if (round >= rounds) resolve();
        else nc.publish(`${P}.move.0`, move0);
      },
    });
  });
  await nc.flush();
  nc.publish(`${P}.move.0`, move0);
  await done;
  const end = performance.now();
  const secs = (end - start) / 1000;
  const warmSecs = (end - warm) / 1000;
  process.stdout.write(
    `${JSON.stringify({ rounds: rounds - 1, seconds: secs, roundsPerSecond: (rounds - 1) / secs, warmRoundsPerSecond: (rounds - 1 - warmup) / warmSecs })}\n`,
  );
  nc.publish(`${P}.end`, new Uint8Array());
  await nc.drain();
}
