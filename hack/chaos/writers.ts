/**
 * Who wrote an identity change, from the emulator's attribution (`by`, and the `User-Agent` as
 * `agent` for REST writes): the controller, one of the out-of-band actors, or a test control.
 * Pure functions.
 */

/** The out-of-band writers of the chaos suite (see actors.ts). */
export const ACTOR_KINDS = ['policy', 'addon', 'upgrade', 'human'] as const;
/** One out-of-band writer. */
export type ActorKind = (typeof ACTOR_KINDS)[number];

const AGENT_MARK = 'chaos-actor/';
/** `User-Agent` prefix of each actor (the product tokens mimic the real writers). */
export const ACTOR_AGENTS: Readonly<Record<ActorKind, string>> = {
  policy: `AzurePolicy-DeployIfNotExists/1.0 ${AGENT_MARK}policy`,
  addon: `aks-addon-omsagent/1.0 ${AGENT_MARK}addon`,
  upgrade: `AKS-ResourceProvider/upgrade ${AGENT_MARK}upgrade`,
  human: `AZURECLI/2.67.0 (az vmss identity remove) ${AGENT_MARK}human`,
};

/** The actor that sent a request with this `User-Agent`, if any. */
export function actorOfAgent(agent: string | undefined): ActorKind | undefined {
  const m = new RegExp(`${AGENT_MARK}([a-z]+)`).exec(agent ?? '');
  return m && (ACTOR_KINDS as readonly string[]).includes(m[1]!) ? (m[1] as ActorKind) : undefined;
}

/** Attribution of a change or write as the emulator records it. */
export interface Attributed {
  by: string;
  agent?: string;
}

/** True when the controller made it: a REST write whose `User-Agent` is not an actor's. */
export function isControllerWrite(w: Attributed): boolean {
  return w.by === 'arm-client' && actorOfAgent(w.agent) === undefined;
}

/** Short name of the writer: `mic`, the actor's kind, or the control's `backdoor:<by>`. */
export function writerName(w: Attributed): string {
  if (isControllerWrite(w)) return 'mic';
  return actorOfAgent(w.agent) ?? w.by;
}
