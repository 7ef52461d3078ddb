import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionChain, type AdmissionPlugin, type Operation } from './admission.ts';
import { attributes } from './testing.ts';

function plugin(name: string, ops: Operation[], calls: string[], kind: 'admit' | 'validate' | 'both'): AdmissionPlugin {
  const handles = (op: Operation) => ops.includes(op);
  const admit = () => void calls.push(`${name}.admit`);
  const validate = async () => void calls.push(`${name}.validate`);
  if (kind === 'admit') return { name, handles, admit };
  if (kind === 'validate') return { name, handles, validate };
  return { name, handles, admit, validate };
}

describe('the admission chain', () => {
  it('runs the plugins of each phase in their order, only for the operations they handle', async () => {
    const calls: string[] = [];
    const chain = new AdmissionChain([
      plugin('a', ['CREATE'], calls, 'admit'),
      plugin('b', ['CREATE', 'UPDATE'], calls, 'both'),
      plugin('c', ['UPDATE'], calls, 'validate'),
      plugin('d', ['CREATE'], calls, 'validate'),
    ]);
    const create = attributes({ operation: 'CREATE' });
    await chain.admit(create);
    await chain.validate(create);
    assert.deepEqual(calls, ['a.admit', 'b.admit', 'b.validate', 'd.validate']);
    calls.length = 0;
    const update = attributes({ operation: 'UPDATE' });
    await chain.admit(update);
    await chain.validate(update);
    assert.deepEqual(calls, ['b.admit', 'b.validate', 'c.validate']);
    assert.equal(chain.handles('DELETE'), false);
    assert.equal(chain.handles('UPDATE'), true);
  });

  it('stops at the first refusal', async () => {
    const calls: string[] = [];
    const refusing: AdmissionPlugin = {
      name: 'refusing',
      handles: () => true,
      admit: () => {
        throw new Error('no');
      },
    };
    const chain = new AdmissionChain([refusing, plugin('after', ['CREATE'], calls, 'admit')]);
    await assert.rejects(chain.admit(attributes({})), /no/);
    assert.deepEqual(calls, []);
  });
});
