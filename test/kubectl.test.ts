/**
 * Real kubectl against a real `skiff server`: the everyday commands behave as they do against Kubernetes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { hasKubectl, kubectl, kubectlOk, kubectlStart, KUBECTL_127, KUBECTL_DEFAULT } from './harness/kubectl.ts';

const APP = readFileSync(path.join(import.meta.dirname, 'fixtures/app.yaml'), 'utf8');

for (const bin of [KUBECTL_DEFAULT, KUBECTL_127]) {
  describe(
    `kubectl (${path.basename(bin)}) against skiff server`,
    { skip: !hasKubectl(bin) && `${bin} is not installed` },
    () => {
      let s: SkiffProcess;
      const k = (args: string[], input?: string) => kubectlOk(s.kubeconfig, args, { bin, input });
      const kr = (args: string[], input?: string) => kubectl(s.kubeconfig, args, { bin, input });

      before(async () => {
        // the API server as kubectl and clients see it; what the controllers do is tested in controllers.test.ts
        s = await startSkiff({ args: ['--disable-controller-manager', '--disable-scheduler'] });
      });
      after(async () => {
        await s?.stop();
        s?.cleanup();
      });

      it('talks to the server and sees the default namespaces', () => {
        const v = JSON.parse(k(['version', '-o', 'json']));
        assert.equal(v.serverVersion.major, '1');
        const names = k(['get', 'namespaces', '-o', 'name']).trim().split('\n').sort();
        assert.deepEqual(names, [
          'namespace/default',
          'namespace/kube-node-lease',
          'namespace/kube-public',
          'namespace/kube-system',
        ]);
        assert.match(k(['get', 'svc', 'kubernetes']), /kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/);
      });

      it('applies a multi-document manifest, then again unchanged, then a change in place', () => {
        const out = k(['apply', '-f', '-'], APP);
        assert.match(out, /namespace\/shop created/);
        assert.match(out, /configmap\/web-config created/);
        assert.match(out, /deployment.apps\/web created/);
        assert.match(out, /service\/web created/);
        const before = JSON.parse(k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json']));
        assert.equal(before.metadata.generation, 1);
        assert.equal(before.spec.strategy.type, 'RollingUpdate');

        const again = k(['apply', '-f', '-'], APP);
        assert.match(again, /deployment.apps\/web unchanged/);
        const same = JSON.parse(k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json']));
        assert.equal(same.metadata.resourceVersion, before.metadata.resourceVersion);

        const changed = k(['apply', '-f', '-'], APP.replace('replicas: 2', 'replicas: 4'));
        assert.match(changed, /deployment.apps\/web configured/);
        const after = JSON.parse(k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json']));
        assert.equal(after.spec.replicas, 4);
        assert.equal(after.metadata.uid, before.metadata.uid);
        assert.equal(after.metadata.generation, 2);
        assert.notEqual(after.metadata.resourceVersion, before.metadata.resourceVersion);
      });

      it('server-side applies with field ownership', () => {
        const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: shop\ndata:\n  a: "1"\n';
        assert.match(k(['apply', '--server-side', '-f', '-'], cm), /configmap\/ssa serverside-applied/);
        const obj = JSON.parse(k(['get', 'cm', 'ssa', '-n', 'shop', '-o', 'json', '--show-managed-fields']));
        const mf = obj.metadata.managedFields.find((m: any) => m.operation === 'Apply');
        assert.equal(mf.manager, 'kubectl');
        assert.ok(mf.fieldsV1['f:data']['f:a']);
      });

      it('moves an object from client-side to server-side apply and back, as kubectl expects', () => {
        const cm = (data: string) =>
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrate\n  namespace: shop\ndata:\n${data}`;
        k(['apply', '-f', '-'], cm('  a: "1"\n  b: "2"\n'));
        // the fields client-side apply set are kubectl's to change by server-side apply, without --force-conflicts
        assert.match(k(['apply', '--server-side', '-f', '-'], cm('  a: "10"\n  b: "2"\n')), /serverside-applied/);
        const obj = JSON.parse(k(['get', 'cm', 'migrate', '-n', 'shop', '-o', 'json']));
        assert.equal(obj.data.a, '10');
        const last = JSON.parse(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
        assert.deepEqual(last.data, { a: '10', b: '2' }, 'the annotation follows the server-side apply');
        // a later client-side apply computes its changes from that: b, no longer in the file, is removed
        k(['apply', '-f', '-'], cm('  a: "10"\n'));
        assert.deepEqual(JSON.parse(k(['get', 'cm', 'migrate', '-n', 'shop', '-o', 'json'])).data, { a: '10' });
        // a field someone else changed since still conflicts
        k(['patch', 'cm', 'migrate', '-n', 'shop', '--type', 'merge', '-p', '{"data":{"a":"11"}}']);
        const conflict = kr(['apply', '--server-side', '-f', '-'], cm('  a: "12"\n'));
        assert.notEqual(conflict.code, 0);
        assert.match(conflict.stderr, /conflict with "kubectl-patch"/);
      });

      it('prints tables like Kubernetes, wide included', () => {
        const t = k(['get', 'deploy', '-n', 'shop']);
        assert.match(t.split('\n')[0], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
        const w = k(['get', 'deploy', '-n', 'shop', '-o', 'wide']);
        assert.match(w.split('\n')[0], /CONTAINERS\s+IMAGES\s+SELECTOR/);
        assert.match(w, /skiff\.local\/busybox:1\.35\s+app=web/);
        const y = k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'yaml']);
        assert.match(y, /greeting: hello/);
      });

      it('labels, annotates, patches and replaces', () => {
        k(['label', 'cm', 'web-config', '-n', 'shop', 'tier=front']);
        k(['annotate', 'cm', 'web-config', '-n', 'shop', 'note=x']);
        assert.equal(k(['get', 'cm', '-n', 'shop', '-l', 'tier=front', '-o', 'name']).trim(), 'configmap/web-config');
        k(['patch', 'cm', 'web-config', '-n', 'shop', '--type', 'merge', '-p', '{"data":{"b":"2"}}']);
        k([
          'patch',
          'cm',
          'web-config',
          '-n',
          'shop',
          '--type',
          'json',
          '-p',
          '[{"op":"replace","path":"/data/greeting","value":"hi"}]',
        ]);
        k([
          'patch',
          'deploy',
          'web',
          '-n',
          'shop',
          '-p',
          '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"skiff.local/busybox:1.36"}]}}}}',
        ]);
        const d = JSON.parse(k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json']));
        assert.equal(d.spec.template.spec.containers.length, 1);
        assert.equal(d.spec.template.spec.containers[0].image, 'skiff.local/busybox:1.36');
        assert.deepEqual(d.spec.template.spec.containers[0].command, ['httpd', '-f', '-p', '8080']);
        const cm = JSON.parse(k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'json']));
        assert.deepEqual(cm.data, { greeting: 'hi', b: '2' });
        cm.data = { replaced: 'yes' };
        k(['replace', '-f', '-'], JSON.stringify(cm));
        assert.deepEqual(JSON.parse(k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'json'])).data, {
          replaced: 'yes',
        });
        // a stale resourceVersion is a conflict
        const stale = kr(['replace', '-f', '-'], JSON.stringify(cm));
        assert.notEqual(stale.code, 0);
        assert.match(stale.stderr, /the object has been modified/);
        // removing the last label and annotation leaves none behind, as the Go types do (no labels: {})
        k(['label', 'cm', 'web-config', '-n', 'shop', 'tier-']);
        k(['annotate', 'cm', 'web-config', '-n', 'shop', 'note-']);
        const bare = JSON.parse(k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'json'])).metadata;
        assert.equal(bare.labels, undefined);
        assert.equal(bare.annotations?.note, undefined);
      });

      it('scales a deployment', () => {
        assert.match(k(['scale', 'deploy', 'web', '-n', 'shop', '--replicas=5']), /scaled/);
        assert.equal(JSON.parse(k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json'])).spec.replicas, 5);
      });

      it('runs the replication controller commands: get, scale, expose, describe', () => {
        const rc = [
          'apiVersion: v1',
          'kind: ReplicationController',
          'metadata:',
          '  name: legacy',
          '  namespace: shop',
          'spec:',
          '  replicas: 2',
          '  template:',
          '    metadata:',
          '      labels: {app: legacy}',
          '    spec:',
          '      containers:',
          '      - name: web',
          '        image: skiff.local/busybox:1.36',
          '        ports: [{containerPort: 6379}]',
          '',
        ].join('\n');
        assert.match(k(['apply', '-f', '-'], rc), /replicationcontroller\/legacy created/);
        const obj = JSON.parse(k(['get', 'rc', 'legacy', '-n', 'shop', '-o', 'json']));
        assert.deepEqual(obj.spec.selector, { app: 'legacy' }, 'the selector defaults to the template labels');
        assert.deepEqual(obj.metadata.labels, { app: 'legacy' });
        assert.match(k(['get', 'rc', '-n', 'shop']).split('\n')[0], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/);
        assert.match(
          k(['get', 'rc', '-n', 'shop', '-o', 'wide']),
          /legacy\s+2\s+0\s+0\s+\S+\s+web\s+skiff\.local\/busybox:1\.36\s+app=legacy/,
        );
        assert.match(
          k(['scale', 'rc', 'legacy', '-n', 'shop', '--replicas=3']),
          /replicationcontroller\/legacy scaled/,
        );
        assert.equal(JSON.parse(k(['get', 'rc', 'legacy', '-n', 'shop', '-o', 'json'])).spec.replicas, 3);
        k(['expose', 'rc', 'legacy', '-n', 'shop', '--port=1234', '--target-port=6379']);
        const svc = JSON.parse(k(['get', 'svc', 'legacy', '-n', 'shop', '-o', 'json']));
        assert.deepEqual(svc.spec.selector, { app: 'legacy' });
        assert.deepEqual([svc.spec.ports[0].port, svc.spec.ports[0].targetPort], [1234, 6379]);
        const d = k(['describe', 'rc', 'legacy', '-n', 'shop']);
        assert.match(d, /Selector:\s+app=legacy/);
        assert.match(d, /Replicas:\s+0 current \/ 3 desired/);
        const bad = kr(
          ['create', '-f', '-'],
          rc.replace('name: legacy', 'name: bad').replace('  replicas: 2', '  replicas: 2\n  selector: {app: other}'),
        );
        assert.notEqual(bad.code, 0);
        assert.match(
          bad.stderr,
          /spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"legacy"\}: `selector` does not match template `labels`/,
        );
        k(['delete', 'rc', 'legacy', '-n', 'shop']);
      });

      it('watches with -w', async () => {
        const watch = kubectlStart(s.kubeconfig, ['get', 'cm', '-n', 'shop', '-w'], { bin });
        try {
          // the list first, then the watch: what is created after the list is shown
          await watch.printed('web-config');
          k(['create', 'configmap', 'watched', '-n', 'shop', '--from-literal=x=1']);
          await watch.printed(/watched\s+1\s+/);
        } finally {
          watch.kill();
        }
      });

      it('explains, lists API resources and diffs', () => {
        assert.match(k(['explain', 'pods.spec.containers']), /image/);
        const ar = k(['api-resources']);
        assert.match(ar, /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
        assert.match(ar, /pods\s+po\s+v1\s+true\s+Pod/);
        const same = kr(
          ['diff', '-f', '-'],
          APP.replace('replicas: 2', 'replicas: 5').replace('busybox:1.35', 'busybox:1.36'),
        );
        assert.equal(same.code, 1, same.stderr); // kubectl diff exits 1 when there are differences
        assert.match(same.stdout, /^[-+]/m);
      });

      it('creates namespaces, configmaps and secrets imperatively', () => {
        k(['create', 'namespace', 'scratch']);
        k(['create', 'configmap', 'c1', '-n', 'scratch', '--from-literal=k=v']);
        k(['create', 'secret', 'generic', 's1', '-n', 'scratch', '--from-literal=password=pw']);
        const sec = JSON.parse(k(['get', 'secret', 's1', '-n', 'scratch', '-o', 'json']));
        assert.equal(Buffer.from(sec.data.password, 'base64').toString(), 'pw');
        assert.equal(sec.type, 'Opaque');
        const dup = kr(['create', 'namespace', 'scratch']);
        assert.match(dup.stderr, /AlreadyExists|already exists/);
      });

      it('reports a broken manifest clearly', () => {
        const badName = kr(
          ['apply', '-f', '-'],
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  namespace: shop\n',
        );
        assert.notEqual(badName.code, 0);
        assert.match(badName.stderr, /is invalid: metadata.name: Invalid value: "Bad_Name"/);
        const unknown = kr(
          ['apply', '--validate=strict', '-f', '-'],
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: shop\nbogus: 1\n',
        );
        assert.notEqual(unknown.code, 0);
        assert.match(unknown.stderr, /bogus/);
        const missingNs = kr(['create', 'configmap', 'x', '-n', 'nowhere']);
        assert.match(missingNs.stderr, /namespaces "nowhere" not found/);
        // in default, whose ServiceAccount the API server creates (no controller runs here to create shop's)
        const noImage = kr(
          ['apply', '-f', '-'],
          'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n  - name: c\n',
        );
        assert.match(noImage.stderr, /spec.containers\[0\].image: Required value/);
      });

      it('deletes', () => {
        // a server-side dry run leaves everything in place
        assert.match(k(['delete', 'deploy', 'web', '-n', 'shop', '--dry-run=server']), /deleted \(server dry run\)/);
        assert.match(k(['delete', 'cm', '--all', '-n', 'scratch', '--dry-run=server']), /\(server dry run\)/);
        k(['get', 'deploy', 'web', '-n', 'shop']);
        assert.notEqual(k(['get', 'cm', '-n', 'scratch', '-o', 'name']).trim(), '');
        k(['delete', 'deploy', 'web', '-n', 'shop']);
        const gone = kr(['get', 'deploy', 'web', '-n', 'shop']);
        assert.match(gone.stderr, /NotFound|not found/);
        k(['delete', 'cm', '--all', '-n', 'scratch']);
        assert.equal(k(['get', 'cm', '-n', 'scratch', '-o', 'name']).trim(), '');
      });
    },
  );
}
