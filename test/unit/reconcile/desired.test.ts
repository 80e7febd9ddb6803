/**
 * computeDesired: upstream's pod × binding × identity matching rules (upstream-mic.md §2.3.3).
 */
import { describe, expect, it } from '@jest/globals';
import { IdentityType, type AzureIdentityBinding } from '../../../controller/api/types.js';
import { computeDesired, type DesiredState } from '../../../controller/reconcile/desired.js';
import {
  binding,
  canonicalUaiId,
  identity,
  inNamespace,
  namespacedBehavior,
  pod,
  servicePrincipal,
  snapshotOf,
  terminating,
  withBindingLabel,
  withIdentityName,
  withNode,
  withPhase,
  withResourceId,
  withSelector,
  withType,
  type Option,
  type SnapshotSeed,
} from '../../support/builders.js';

/** `<aai key> via <binding ns>/<binding name> on <node>`: what a desired entry is made of. */
function desiredLines(state: DesiredState): string[] {
  return [...state.desired.values()]
    .map((d) => `${d.key} via ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} on ${d.nodeName}`)
    .sort();
}

/** `<reason> <kind> <ns>/<name>` of each problem. */
function problemLines(state: DesiredState): string[] {
  return state.problems.map((p) => `${p.reason} ${p.object.kind} ${p.object.namespace ?? ''}/${p.object.name}`).sort();
}

const longPodName = 'p'.repeat(245);

interface MatchCase {
  name: string;
  seed: SnapshotSeed;
  forceNamespaced?: boolean;
  desired: string[];
  problems?: string[];
}

const sel = withBindingLabel('sel');
const b1 = (...more: Option<AzureIdentityBinding>[]): AzureIdentityBinding => binding('b1', withIdentityName('id1'), withSelector('sel'), ...more);

const cases: MatchCase[] = [
  {
    name: 'pod label equal to the selector matches',
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1')], bindings: [b1()] },
    desired: ['default/p1-default-id1 via default/b1 on n1'],
  },
  {
    name: 'selector comparison is case-sensitive',
    seed: { pods: [pod('p1', withNode('n1'), withBindingLabel('Sel'))], identities: [identity('id1')], bindings: [b1()] },
    desired: [],
  },
  {
    name: 'selector must match exactly, not as a prefix',
    seed: { pods: [pod('p1', withNode('n1'), withBindingLabel('sel-2'))], identities: [identity('id1')], bindings: [b1()] },
    desired: [],
  },
  {
    name: 'pod without the label is skipped',
    seed: { pods: [pod('p1', withNode('n1'))], identities: [identity('id1')], bindings: [b1()] },
    desired: [],
  },
  {
    name: 'pod with an empty label value is skipped (even if a binding has an empty selector)',
    seed: { pods: [pod('p1', withNode('n1'), withBindingLabel(''))], identities: [identity('id1')], bindings: [binding('b1', withIdentityName('id1'))] },
    desired: [],
  },
  {
    name: 'unscheduled pod is skipped',
    seed: { pods: [pod('p1', sel)], identities: [identity('id1')], bindings: [b1()] },
    desired: [],
  },
  {
    name: 'pod phase is ignored and a terminating pod still counts',
    seed: {
      pods: [pod('p1', withNode('n1'), sel, withPhase('Succeeded')), pod('p2', withNode('n1'), sel, terminating())],
      identities: [identity('id1')],
      bindings: [b1()],
    },
    desired: ['default/p1-default-id1 via default/b1 on n1', 'default/p2-default-id1 via default/b1 on n1'],
  },
  {
    name: "identity is looked up in the binding's namespace, not the pod's",
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1')], bindings: [b1(inNamespace('other'))] },
    desired: [],
  },
  {
    name: 'binding to a missing identity is skipped without a problem',
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [], bindings: [b1()] },
    desired: [],
  },
  {
    name: 'cross-namespace match is allowed by default; the AAI goes to default',
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('app'))],
      identities: [identity('id1', inNamespace('ids'))],
      bindings: [b1(inNamespace('ids'))],
    },
    desired: ['default/p1-app-id1 via ids/b1 on n1'],
  },
  {
    name: 'forceNamespaced rejects a pod in another namespace',
    forceNamespaced: true,
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('app'))],
      identities: [identity('id1', inNamespace('ids'))],
      bindings: [b1(inNamespace('ids'))],
    },
    desired: [],
  },
  {
    name: "forceNamespaced matches within one namespace; the AAI goes to the identity's namespace",
    forceNamespaced: true,
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('app'))],
      identities: [identity('id1', inNamespace('app'))],
      bindings: [b1(inNamespace('app'))],
    },
    desired: ['app/p1-app-id1 via app/b1 on n1'],
  },
  {
    name: 'forceNamespaced: the same pod/identity/binding names in two namespaces give two AAIs (upstream scenario 8)',
    forceNamespaced: true,
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('a')), pod('p1', withNode('n1'), sel, inNamespace('b'))],
      identities: [identity('id1', inNamespace('a')), identity('id1', inNamespace('b'))],
      bindings: [b1(inNamespace('a')), b1(inNamespace('b'))],
    },
    desired: ['a/p1-a-id1 via a/b1 on n1', 'b/p1-b-id1 via b/b1 on n1'],
    problems: [],
  },
  {
    name: 'Behavior: namespaced annotation restricts matching without forceNamespaced',
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('app'))],
      identities: [identity('id1', inNamespace('ids'), namespacedBehavior())],
      bindings: [b1(inNamespace('ids'))],
    },
    desired: [],
  },
  {
    name: "Behavior: namespaced identity in the pod's namespace matches; AAI in that namespace",
    seed: {
      pods: [pod('p1', withNode('n1'), sel, inNamespace('app'))],
      identities: [identity('id1', inNamespace('app'), namespacedBehavior())],
      bindings: [b1(inNamespace('app'))],
    },
    desired: ['app/p1-app-id1 via app/b1 on n1'],
  },
  {
    name: 'type-0 identity with an invalid resourceID is excluded and reported',
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1', withResourceId('not-a-resource-id'))], bindings: [b1()] },
    desired: [],
    problems: ['InvalidIdentity AzureIdentity default/id1'],
  },
  {
    name: 'identity without spec.type is type 0: an empty resourceID is invalid',
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1', withType(undefined), withResourceId(''))], bindings: [b1()] },
    desired: [],
    problems: ['InvalidIdentity AzureIdentity default/id1'],
  },
  {
    name: 'resourceID of another resource type is invalid',
    seed: {
      pods: [pod('p1', withNode('n1'), sel)],
      identities: [identity('id1', withResourceId('/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/id1'))],
      bindings: [b1()],
    },
    desired: [],
    problems: ['InvalidIdentity AzureIdentity default/id1'],
  },
  {
    name: 'service-principal identity (type 1) needs no resourceID',
    seed: { pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1', servicePrincipal())], bindings: [b1()] },
    desired: ['default/p1-default-id1 via default/b1 on n1'],
    problems: [],
  },
  {
    name: 'two bindings with one selector give one AAI per identity',
    seed: {
      pods: [pod('p1', withNode('n1'), sel)],
      identities: [identity('id1'), identity('id2')],
      bindings: [b1(), binding('b2', withIdentityName('id2'), withSelector('sel'))],
    },
    desired: ['default/p1-default-id1 via default/b1 on n1', 'default/p1-default-id2 via default/b2 on n1'],
  },
  {
    name: 'name collision of same-named identities: first binding by (namespace, name) wins, problem reported',
    seed: {
      pods: [pod('p1', withNode('n1'), sel)],
      identities: [identity('id1', inNamespace('zz')), identity('id1', inNamespace('aa'))],
      bindings: [b1(inNamespace('zz')), b1(inNamespace('aa'))],
    },
    desired: ['default/p1-default-id1 via aa/b1 on n1'],
    problems: ['IdentityNameCollision AzureIdentityBinding zz/b1'],
  },
  {
    name: 'two bindings to the same identity: first by binding name wins, nothing to report',
    seed: {
      pods: [pod('p1', withNode('n1'), sel)],
      identities: [identity('id1')],
      bindings: [binding('b2', withIdentityName('id1'), withSelector('sel')), b1()],
    },
    desired: ['default/p1-default-id1 via default/b1 on n1'],
    problems: [],
  },
  {
    name: 'AAI name longer than 253 characters is reported, not desired',
    seed: { pods: [pod(longPodName, withNode('n1'), sel)], identities: [identity('id1')], bindings: [b1()] },
    desired: [],
    problems: [`InvalidAssignedIdentityName Pod default/${longPodName}`],
  },
];

describe('computeDesired matching', () => {
  it.each(cases)('$name', ({ seed, forceNamespaced, desired, problems }) => {
    const state = computeDesired(snapshotOf(seed), forceNamespaced ?? false);
    expect(desiredLines(state)).toEqual(desired);
    if (problems !== undefined) expect(problemLines(state)).toEqual(problems);
  });
});

describe('computeDesired entries', () => {
  it('two different pods whose AAI names coincide: only the first pod gets the AAI', () => {
    // `p1` in namespace `a-b` and `p1-a` in namespace `b` both give `p1-a-b-id1`.
    const state = computeDesired(
      snapshotOf({
        pods: [pod('p1', withNode('n1'), sel, inNamespace('a-b')), pod('p1-a', withNode('n2'), sel, inNamespace('b'))],
        identities: [identity('id1')],
        bindings: [b1()],
      }),
      false,
    );
    expect(desiredLines(state)).toEqual(['default/p1-a-b-id1 via default/b1 on n1']);
    expect(state.desired.get('default/p1-a-b-id1')?.pod.namespace).toBe('a-b');
  });

  it('carries the canonical (lower-cased) identity ID for a user-assigned identity', () => {
    const state = computeDesired(
      snapshotOf({ pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1')], bindings: [b1()] }),
      false,
    );
    const entry = state.desired.get('default/p1-default-id1');
    expect(entry?.identityId).toBe(canonicalUaiId('id1'));
    expect(entry?.aai.metadata.labels).toEqual({ nodename: 'n1' });
    expect(entry?.aai.spec).toMatchObject({ pod: 'p1', podNamespace: 'default', nodename: 'n1' });
  });

  it('has no identity ID for a service principal', () => {
    const state = computeDesired(
      snapshotOf({ pods: [pod('p1', withNode('n1'), sel)], identities: [identity('id1', servicePrincipal())], bindings: [b1()] }),
      false,
    );
    const entry = state.desired.get('default/p1-default-id1');
    expect(entry).toBeDefined();
    expect(entry?.identityId).toBeUndefined();
    expect(entry?.identity.spec.type).toBe(IdentityType.ServicePrincipal);
  });

  it('reports an invalid identity with upstream wording and once per identity', () => {
    const bad = identity('id1', withResourceId('bogus'));
    const state = computeDesired(
      snapshotOf({ pods: [pod('p1', withNode('n1'), sel), pod('p2', withNode('n1'), sel)], identities: [bad], bindings: [b1()] }),
      false,
    );
    expect(state.problems).toHaveLength(1);
    expect(state.problems[0]?.message).toContain('ignoring azure identity default/id1, error: invalid resource id: "bogus"');
  });
});
