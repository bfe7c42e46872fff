// Structural checks of the deploy files (compose, Kubernetes, Helm values, NATS config, Dockerfile). No Docker
// engine or Kubernetes cluster is available where these tests run, so nothing here builds an image, starts a
// container or applies a manifest: the files are parsed and checked against the Compose and Kubernetes
// essentials, against each other, and against the CLI's real commands; the NATS config is checked by
// nats-server itself (`-t`).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arr,
  type CliCommand,
  CONNECTION_ENV,
  checkMalArgs,
  cliCommands,
  DEPLOY,
  isObject,
  type Json,
  obj,
  ROOT,
  readYaml,
  readYamlDocuments,
} from './deploy-support.js';

let commands: Map<string, CliCommand>;
beforeAll(async () => {
  commands = await cliCommands();
});

/** Every YAML file under deploy/, except deploy/temporal/ (another part of the project owns it). */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(DEPLOY, path) !== 'temporal') out.push(...yamlFiles(path));
    } else if (/\.ya?ml$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

describe('every YAML file parses', () => {
  const files = yamlFiles(DEPLOY);
  it('finds the compose file, the manifests and the values files', () => {
    const names = files.map((f) => relative(DEPLOY, f));
    expect(names).toEqual(
      expect.arrayContaining([
        'compose.yaml',
        'k8s/values-nats.yaml',
        'k8s/values-temporal.yaml',
        'k8s/worker-cpu.yaml',
        'k8s/worker-gpu.yaml',
        'k8s/temporal-worker.yaml',
      ]),
    );
  });
  it.each(files.map((f) => [relative(ROOT, f), f]))('%s', (_name, file) => {
    expect(readYamlDocuments(file).length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------- compose

/** The service keys of the Compose specification (https://github.com/compose-spec/compose-spec). */
const COMPOSE_SERVICE_KEYS = new Set(
  (
    'annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name ' +
    'cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset ' +
    'credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname ' +
    'driver_opts entrypoint env_file environment expose extends external_links extra_hosts gpus group_add ' +
    'healthcheck hostname image init ipc isolation labels label_file links logging mac_address mem_limit ' +
    'mem_reservation mem_swappiness memswap_limit models network_mode networks oom_kill_disable ' +
    'oom_score_adj pid pids_limit platform ports post_start pre_stop privileged profiles provider pull_policy ' +
    'read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal ' +
    'storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes volumes_from working_dir'
  ).split(' '),
);
const COMPOSE_TOP_KEYS = new Set([
  'version',
  'name',
  'include',
  'services',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'models',
]);
const DEPENDS_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

describe('deploy/compose.yaml', () => {
  const composePath = join(DEPLOY, 'compose.yaml');
  const compose = obj(readYaml(composePath), 'compose.yaml');
  const services = obj(compose.services, 'services');
  const volumes = obj(compose.volumes ?? {}, 'volumes');

  /** The mal services: those built from deploy/Dockerfile. */
  const malServices = Object.entries(services).filter(([, s]) => {
    const build = obj(s, 'service').build;
    return isObject(build) && build.dockerfile === 'deploy/Dockerfile';
  });

  function env(name: string): Json {
    const e = obj(services[name], name).environment;
    if (Array.isArray(e)) {
      return Object.fromEntries(
        e.map((line) => {
          const [k, ...v] = String(line).split('=');
          return [k, v.join('=')];
        }),
      );
    }
    return obj(e ?? {}, `${name}.environment`);
  }

  it('has only top-level keys of the Compose spec (or x- extensions)', () => {
    for (const key of Object.keys(compose)) {
      expect(COMPOSE_TOP_KEYS.has(key) || key.startsWith('x-'), `top-level key '${key}'`).toBe(true);
    }
  });

  it('has the services of a small cluster', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal',
        'nats',
        'temporal-worker',
        'worker-cpu',
        'worker-gpu',
      ]),
    );
    expect(String(obj(services.temporal, 'temporal').image)).toMatch(/^temporalio\/auto-setup:/);
    expect(env('temporal').DB).toBe('postgres12');
    expect(env('temporal').POSTGRES_SEEDS).toBe('postgresql');
    expect(String(obj(services.nats, 'nats').image)).toMatch(/^nats:/);
  });

  it('gives every service an image or a build, and only keys the spec knows', () => {
    for (const [name, raw] of Object.entries(services)) {
      const service = obj(raw, name);
      expect(service.image !== undefined || service.build !== undefined, `${name}: image or build`).toBe(
        true,
      );
      for (const key of Object.keys(service)) {
        expect(COMPOSE_SERVICE_KEYS.has(key) || key.startsWith('x-'), `${name}: unknown key '${key}'`).toBe(
          true,
        );
      }
    }
  });

  it('has depends_on naming existing services, with valid conditions, healthy only where a healthcheck is', () => {
    for (const [name, raw] of Object.entries(services)) {
      const dependsOn = obj(raw, name).depends_on;
      if (dependsOn === undefined) continue;
      const entries: [string, string][] = Array.isArray(dependsOn)
        ? dependsOn.map((d) => [String(d), 'service_started'])
        : Object.entries(obj(dependsOn, `${name}.depends_on`)).map(([d, v]) => [
            d,
            String(obj(v, `${name}.depends_on.${d}`).condition ?? 'service_started'),
          ]);
      for (const [target, condition] of entries) {
        expect(Object.keys(services), `${name} depends on '${target}'`).toContain(target);
        expect(DEPENDS_CONDITIONS.has(condition), `${name} → ${target}: condition '${condition}'`).toBe(true);
        if (condition === 'service_healthy') {
          expect(obj(services[target], target).healthcheck, `${target} needs a healthcheck`).toBeDefined();
        }
      }
    }
  });

  it('declares every named volume it mounts, and every bind source exists', () => {
    const used = new Set<string>();
    for (const [name, raw] of Object.entries(services)) {
      for (const mount of arr(obj(raw, name).volumes ?? [], `${name}.volumes`)) {
        const source = typeof mount === 'string' ? mount.split(':')[0] : String(obj(mount, 'mount').source);
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(resolve(DEPLOY, source)), `${name}: bind source ${source}`).toBe(true);
        } else {
          expect(Object.keys(volumes), `${name}: volume '${source}' declared`).toContain(source);
          used.add(source);
        }
      }
    }
    expect([...used].sort()).toEqual(Object.keys(volumes).sort());
  });

  it('builds the mal services from deploy/Dockerfile targets that exist, with a shared zoo/outputs volume', () => {
    expect(malServices.map(([n]) => n)).toEqual(
      expect.arrayContaining(['temporal-worker', 'worker-cpu', 'worker-gpu']),
    );
    const stages = dockerfileStages(parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8')));
    for (const [name, raw] of malServices) {
      const build = obj(obj(raw, name).build, `${name}.build`);
      expect(resolve(DEPLOY, String(build.context)), `${name}: context is the repository root`).toBe(ROOT);
      expect(stages, `${name}: target ${String(build.target)}`).toContain(build.target);
      const mounts = arr(obj(raw, name).volumes, `${name}.volumes`).map(String);
      expect(mounts, `${name} mounts the shared volume`).toContain('mal-data:/srv/mal');
    }
    expect(obj(obj(services['worker-gpu'], 'worker-gpu').build, 'build').target).toBe('gpu');
    expect(obj(obj(services['worker-cpu'], 'worker-cpu').build, 'build').target).toBe('cpu');
  });

  it('gives every mal service the connection variables, and NATS credentials to those that connect', () => {
    for (const [name] of malServices) {
      const e = env(name);
      for (const key of CONNECTION_ENV) expect(e[key], `${name}: ${key}`).toBeTruthy();
    }
    for (const name of ['temporal-worker', 'worker-cpu', 'worker-gpu']) {
      const e = env(name);
      const hasCreds = e.MAL_NATS_CREDS !== undefined;
      const hasUser = e.MAL_NATS_USER !== undefined && e.MAL_NATS_PASSWORD !== undefined;
      expect(hasCreds || hasUser, `${name}: MAL_NATS_CREDS or MAL_NATS_USER + MAL_NATS_PASSWORD`).toBe(true);
      expect(e.MAL_BACKEND, `${name}: MAL_BACKEND`).toBeTruthy();
    }
    // Workers log in as `worker` (no publishing of tasks); the Temporal worker dispatches.
    expect(env('worker-cpu').MAL_NATS_USER).toBe('worker');
    expect(env('worker-gpu').MAL_NATS_USER).toBe('worker');
    expect(env('temporal-worker').MAL_NATS_USER).toBe('dispatcher');
  });

  it('runs mal commands and options the CLI defines', () => {
    const expected: Record<string, string[]> = {
      'temporal-worker': ['temporal-worker'],
      'worker-cpu': ['worker', '--pool', 'cpu'],
      'worker-gpu': ['worker', '--pool', 'gpu', '--backend', 'tfjs-node-gpu'],
    };
    for (const [name, prefix] of Object.entries(expected)) {
      const command = arr(obj(services[name], name).command, `${name}.command`).map(String);
      expect(command.slice(0, prefix.length), name).toEqual(prefix);
    }
    const problems = malServices.flatMap(([name, raw]) => {
      const command = obj(raw, name).command;
      return command === undefined
        ? []
        : checkMalArgs(arr(command, name).map(String), commands).map((p) => `${name}: ${p}`);
    });
    expect(problems).toEqual([]);
  });

  it('reserves one NVIDIA GPU for the GPU worker', () => {
    const gpu = obj(services['worker-gpu'], 'worker-gpu');
    const devices = arr(
      obj(obj(obj(gpu.deploy, 'deploy').resources, 'resources').reservations, 'reservations').devices,
      'devices',
    );
    expect(devices).toHaveLength(1);
    const device = obj(devices[0], 'device');
    expect(device.driver).toBe('nvidia');
    expect(device.count).toBe(1);
    expect(arr(device.capabilities, 'capabilities')).toContain('gpu');
    expect(env('worker-gpu').MAL_BACKEND).toBe('tfjs-node-gpu');
  });

  it('asks for every required variable (:? form) in deploy/.env.example', () => {
    const text = readFileSync(composePath, 'utf8');
    const required = new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
    expect(required.size).toBeGreaterThan(0);
    const example = readFileSync(join(DEPLOY, '.env.example'), 'utf8');
    const defined = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    for (const name of required) expect(defined.has(name), `${name} in .env.example`).toBe(true);
  });

  it('passes the NATS server every password variable its config reads, and mounts that config', () => {
    const conf = readFileSync(join(DEPLOY, 'nats/nats-server.conf'), 'utf8');
    const variables = natsConfigVariables(conf);
    expect(variables.length).toBeGreaterThan(0);
    const natsEnv = env('nats');
    for (const v of variables) expect(natsEnv[v], `nats service: ${v}`).toBeDefined();
    const mounts = arr(obj(services.nats, 'nats').volumes, 'nats.volumes').map(String);
    expect(mounts).toContain('./nats/nats-server.conf:/etc/nats/nats-server.conf:ro');
  });
});

// ------------------------------------------------------------------------------------------------- Kubernetes

/** The API groups of the kinds these manifests use. */
const KIND_API: Record<string, string[]> = {
  Namespace: ['v1'],
  ConfigMap: ['v1'],
  Secret: ['v1'],
  PersistentVolumeClaim: ['v1'],
  Deployment: ['apps/v1'],
  HorizontalPodAutoscaler: ['autoscaling/v2'],
  Kustomization: ['kustomize.config.k8s.io/v1beta1'],
};

interface K8sDoc {
  readonly file: string;
  readonly doc: Json;
}

function k8sDocs(): K8sDoc[] {
  const dir = join(DEPLOY, 'k8s');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('values-'))
    .flatMap((f) => readYamlDocuments(join(dir, f)).map((doc) => ({ file: f, doc: obj(doc, f) })));
}

function podSpec(d: K8sDoc): Json {
  return obj(obj(obj(d.doc.spec, 'spec').template, 'template').spec, `${d.file}: template.spec`);
}

function containers(d: K8sDoc): Json[] {
  return arr(podSpec(d).containers, `${d.file}: containers`).map((c) => obj(c, 'container'));
}

describe('deploy/k8s manifests', () => {
  const docs = k8sDocs();
  const byKind = (kind: string) => docs.filter((d) => d.doc.kind === kind);
  const deployments = byKind('Deployment');
  const named = (kind: string) =>
    new Set(byKind(kind).map((d) => String(obj(d.doc.metadata, 'metadata').name)));

  it('has apiVersion, kind and metadata.name in every document, with known kinds', () => {
    expect(docs.length).toBeGreaterThan(5);
    for (const { file, doc } of docs) {
      const kind = String(doc.kind);
      expect(KIND_API[kind], `${file}: kind ${kind}`).toBeDefined();
      expect(KIND_API[kind], `${file}: apiVersion of ${kind}`).toContain(doc.apiVersion);
      if (kind !== 'Kustomization') {
        const name = obj(doc.metadata, `${file}: metadata`).name;
        expect(name, `${file}: metadata.name`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }
    }
  });

  it('puts every namespaced object in the mal namespace', () => {
    for (const { file, doc } of docs) {
      if (doc.kind === 'Namespace' || doc.kind === 'Kustomization') continue;
      expect(obj(doc.metadata, 'metadata').namespace, `${file}: ${String(doc.kind)}`).toBe('mal');
    }
  });

  it('has Deployments for the Temporal worker and both pools, selectors matching their pod labels', () => {
    expect([...named('Deployment')].sort()).toEqual([
      'mal-temporal-worker',
      'mal-worker-cpu',
      'mal-worker-gpu',
    ]);
    for (const d of deployments) {
      const spec = obj(d.doc.spec, `${d.file}: spec`);
      const selector = obj(obj(spec.selector, 'selector').matchLabels, `${d.file}: matchLabels`);
      const labels = obj(
        obj(obj(spec.template, 'template').metadata, 'metadata').labels,
        `${d.file}: labels`,
      );
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(selector)) expect(labels[k], `${d.file}: label ${k}`).toBe(v);
      expect(Number(spec.replicas), `${d.file}: replicas`).toBeGreaterThanOrEqual(1);
    }
  });

  it('runs mal commands and options the CLI defines, with one image repository', () => {
    const problems: string[] = [];
    const repositories = new Set<string>();
    for (const d of deployments) {
      for (const c of containers(d)) {
        expect(c.command, `${d.file}: keep the image's entrypoint (mal), set args`).toBeUndefined();
        const args = arr(c.args, `${d.file}: args`).map(String);
        problems.push(...checkMalArgs(args, commands).map((p) => `${d.file}: ${p}`));
        repositories.add(String(c.image).replace(/:[^:/]+$/, ''));
      }
    }
    expect(problems).toEqual([]);
    expect(repositories.size, [...repositories].join(', ')).toBe(1);
    const kustomization = obj(byKind('Kustomization')[0]?.doc, 'kustomization');
    const images = arr(kustomization.images, 'images').map((i) => String(obj(i, 'image').name));
    expect(images).toContain([...repositories][0]);
  });

  it('runs the pools on the right commands: cpu with replicas, gpu with one GPU on GPU nodes', () => {
    const args = (name: string) =>
      containers(deployments.find((d) => obj(d.doc.metadata, 'm').name === name)!)[0].args;
    expect(args('mal-temporal-worker')).toEqual(['temporal-worker']);
    expect((args('mal-worker-cpu') as string[]).slice(0, 3)).toEqual(['worker', '--pool', 'cpu']);
    expect((args('mal-worker-gpu') as string[]).slice(0, 5)).toEqual([
      'worker',
      '--pool',
      'gpu',
      '--backend',
      'tfjs-node-gpu',
    ]);
    const gpu = deployments.find((d) => obj(d.doc.metadata, 'm').name === 'mal-worker-gpu')!;
    const limits = obj(obj(containers(gpu)[0].resources, 'resources').limits, 'limits');
    expect(limits['nvidia.com/gpu']).toBe(1);
    expect(Object.keys(obj(podSpec(gpu).nodeSelector, 'nodeSelector')).length).toBeGreaterThan(0);
    const tolerations = arr(podSpec(gpu).tolerations, 'tolerations').map((t) => obj(t, 'toleration'));
    expect(tolerations.some((t) => t.key === 'nvidia.com/gpu')).toBe(true);
    for (const d of deployments.filter((x) => x !== gpu)) {
      const l = obj(containers(d)[0].resources ?? {}, 'resources').limits;
      expect(isObject(l) ? l['nvidia.com/gpu'] : undefined, `${d.file} asks for no GPU`).toBeUndefined();
    }
  });

  it('references ConfigMaps, Secrets and claims that are defined, and gives the connection variables', () => {
    const configMaps = named('ConfigMap');
    const claims = named('PersistentVolumeClaim');
    // The Secrets are created by the operator; their example file names them.
    const secrets = new Set(
      readYamlDocuments(join(DEPLOY, 'k8s/nats-credentials.example.yaml')).map((s) =>
        String(obj(obj(s, 's').metadata, 'metadata').name),
      ),
    );
    const configMapData = new Map(
      byKind('ConfigMap').map((d) => [String(obj(d.doc.metadata, 'm').name), obj(d.doc.data, 'data')]),
    );
    for (const d of deployments) {
      for (const c of containers(d)) {
        const names = new Set<string>();
        for (const from of arr(c.envFrom ?? [], 'envFrom').map((f) => obj(f, 'envFrom'))) {
          const ref = String(obj(from.configMapRef, `${d.file}: configMapRef`).name);
          expect(configMaps.has(ref), `${d.file}: ConfigMap ${ref}`).toBe(true);
          for (const k of Object.keys(configMapData.get(ref) ?? {})) names.add(k);
        }
        for (const e of arr(c.env ?? [], 'env').map((x) => obj(x, 'env'))) {
          names.add(String(e.name));
          const ref = isObject(e.valueFrom) ? e.valueFrom.secretKeyRef : undefined;
          if (isObject(ref))
            expect(secrets.has(String(ref.name)), `${d.file}: Secret ${String(ref.name)}`).toBe(true);
        }
        for (const key of [...CONNECTION_ENV, 'MAL_NATS_USER', 'MAL_NATS_PASSWORD', 'MAL_BACKEND']) {
          expect(names.has(key), `${d.file}: ${key}`).toBe(true);
        }
      }
      for (const v of arr(podSpec(d).volumes ?? [], 'volumes').map((x) => obj(x, 'volume'))) {
        const claim = isObject(v.persistentVolumeClaim)
          ? String(v.persistentVolumeClaim.claimName)
          : undefined;
        if (claim !== undefined) expect(claims.has(claim), `${d.file}: claim ${claim}`).toBe(true);
      }
    }
    const pvc = byKind('PersistentVolumeClaim')[0];
    expect(arr(obj(pvc.doc.spec, 'spec').accessModes, 'accessModes')).toContain('ReadWriteMany');
  });

  it('scales an existing Deployment with the HorizontalPodAutoscaler', () => {
    for (const h of byKind('HorizontalPodAutoscaler')) {
      const target = obj(obj(h.doc.spec, 'spec').scaleTargetRef, 'scaleTargetRef');
      expect(target.kind).toBe('Deployment');
      expect(named('Deployment').has(String(target.name))).toBe(true);
    }
  });

  it('lists every manifest in kustomization.yaml except the Secret example', () => {
    const kustomization = obj(readYaml(join(DEPLOY, 'k8s/kustomization.yaml')), 'kustomization');
    const resources = arr(kustomization.resources, 'resources').map(String).sort();
    const manifests = [...new Set(docs.map((d) => d.file))]
      .filter((f) => f !== 'kustomization.yaml' && !f.includes('.example.'))
      .sort();
    expect(resources).toEqual(manifests);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  it('builds with kubectl kustomize (offline)', (context) => {
    // kubectl is no Debian package of a version that knows today's kustomize: where it is missing the skip and
    // its reason are printed with the run's summary.
    if (kubectl.status !== 0) context.skip('kubectl is not installed; the structural checks above still ran');
    const built = spawnSync('kubectl', ['kustomize', join(DEPLOY, 'k8s')], { encoding: 'utf8' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const kinds = [...built.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Deployment',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Namespace',
        'PersistentVolumeClaim',
      ].sort(),
    );
  });
});

// ------------------------------------------------------------------------------------------ Helm values files

/** The quoted subjects in one user's block of nats-server.conf, publish then subscribe. */
function confPermissions(
  conf: string,
  user: string,
): { publish: string[]; deny: string[]; subscribe: string[] } {
  const start = conf.indexOf(`user: ${user}`);
  if (start < 0) throw new Error(`nats-server.conf: no user ${user}`);
  const next = conf.indexOf('user: ', start + 1);
  const block = conf.slice(start, next < 0 ? undefined : next);
  const section = (from: string, to: string) => {
    const a = block.indexOf(from);
    if (a < 0) return [];
    const b = block.indexOf(to, a);
    return [...block.slice(a, b < 0 ? undefined : b).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  };
  const allowPublish = section('publish', 'deny');
  return {
    publish: block.includes('deny') ? allowPublish : section('publish', 'subscribe'),
    deny: block.includes('deny') ? section('deny', 'subscribe') : [],
    subscribe: section('subscribe', '}'),
  };
}

describe('Helm values', () => {
  it('values-nats.yaml: JetStream on, the MAL account with the same users and permissions as nats-server.conf', () => {
    const values = obj(readYaml(join(DEPLOY, 'k8s/values-nats.yaml')), 'values-nats');
    const config = obj(values.config, 'config');
    expect(obj(config.jetstream, 'jetstream').enabled).toBe(true);
    const account = obj(obj(obj(config.merge, 'merge').accounts, 'accounts').MAL, 'MAL');
    expect(account.jetstream).toBe('enabled');
    const users = arr(account.users, 'users').map((u) => obj(u, 'user'));
    expect(users.map((u) => u.user).sort()).toEqual(['admin', 'dispatcher', 'worker']);
    const conf = readFileSync(join(DEPLOY, 'nats/nats-server.conf'), 'utf8');
    const envs = obj(obj(values.container, 'container').env, 'container.env');
    for (const u of users) {
      // The password is a NATS variable the container gets from a Secret.
      const variable = /^<< \$([A-Z0-9_]+) >>$/.exec(String(u.password));
      expect(variable, `${String(u.user)}: password`).not.toBeNull();
      expect(envs[variable![1]], `container.env.${variable![1]}`).toBeDefined();
      if (u.user === 'admin') continue;
      const expected = confPermissions(conf, String(u.user));
      const permissions = obj(u.permissions, `${String(u.user)}.permissions`);
      const publish = obj(permissions.publish, 'publish');
      expect(arr(publish.allow, 'allow')).toEqual(expected.publish);
      expect(arr(publish.deny ?? [], 'deny')).toEqual(expected.deny);
      expect(arr(obj(permissions.subscribe, 'subscribe').allow, 'allow')).toEqual(expected.subscribe);
    }
  });

  it('values-temporal.yaml: SQL persistence on PostgreSQL for default and visibility stores', () => {
    const values = obj(readYaml(join(DEPLOY, 'k8s/values-temporal.yaml')), 'values-temporal');
    const persistence = obj(obj(obj(values.server, 'server').config, 'config').persistence, 'persistence');
    for (const store of ['default', 'visibility']) {
      const s = obj(persistence[store], store);
      expect(s.driver).toBe('sql');
      expect(obj(s.sql, 'sql').driver).toBe('postgres12');
    }
    expect(obj(values.cassandra, 'cassandra').enabled).toBe(false);
    expect(obj(values.elasticsearch, 'elasticsearch').enabled).toBe(false);
  });

  it('the ConfigMap points at the Helm releases the README installs', () => {
    const cm = obj(readYaml(join(DEPLOY, 'k8s/configmap.yaml')), 'configmap');
    const data = obj(cm.data, 'data');
    expect(data.MAL_NATS_URL).toBe('nats://nats.nats.svc.cluster.local:4222');
    expect(data.MAL_TEMPORAL_ADDRESS).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    const readme = readFileSync(join(DEPLOY, 'k8s/README.md'), 'utf8');
    expect(readme).toContain('nats/nats');
    expect(readme).toContain('temporalio/temporal');
  });
});

// ------------------------------------------------------------------------------------------------------ NATS

/** `$NAME` references in a NATS config outside comments and quoted strings. */
function natsConfigVariables(conf: string): string[] {
  const names = new Set<string>();
  for (const line of conf.split('\n')) {
    const code = line.replace(/#.*$/, '').replace(/"[^"]*"/g, '');
    for (const m of code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]);
  }
  return [...names];
}

const NATS_SERVER = process.env.MAL_NATS_SERVER ?? '/usr/sbin/nats-server';

function natsTest(config: string, env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const r = spawnSync(NATS_SERVER, ['-t', '-c', config], { encoding: 'utf8', env });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('deploy/nats config, checked by nats-server -t', () => {
  const conf = join(DEPLOY, 'nats/nats-server.conf');
  const variables = natsConfigVariables(readFileSync(conf, 'utf8'));
  const withPasswords = { ...process.env, ...Object.fromEntries(variables.map((v) => [v, `test-${v}`])) };

  it('has nats-server (Debian package nats-server, or MAL_NATS_SERVER)', () => {
    expect(existsSync(NATS_SERVER), `${NATS_SERVER} is missing: apt-get install nats-server`).toBe(true);
  });

  it('nats-server.conf is valid with its password variables set', () => {
    const r = natsTest(conf, withPasswords);
    expect(r.output).toContain('is valid');
    expect(r.status).toBe(0);
  });

  it('nats-server.conf is refused without them (the check can fail)', () => {
    const env = { ...withPasswords };
    delete env[variables[0]];
    const r = natsTest(conf, env);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(variables[0]);
  });

  it('has JetStream with a file store, and the mal stream and buckets the workers use', () => {
    const text = readFileSync(conf, 'utf8');
    expect(text).toMatch(/jetstream\s*\{[^}]*store_dir:/);
    // The subjects in the permissions must follow the names the worker code uses.
    const infra = readFileSync(join(ROOT, 'workers/nats/task-infrastructure.ts'), 'utf8');
    const constant = (name: string) => {
      const m = new RegExp(`export const ${name} = '([^']+)'`).exec(infra);
      if (m === null) throw new Error(`workers/nats/task-infrastructure.ts: no ${name}`);
      return m[1];
    };
    const stream = constant('TASK_STREAM');
    expect(text).toContain(`$JS.API.CONSUMER.MSG.NEXT.${stream}.*`);
    expect(text).toContain(`$JS.ACK.${stream}.>`);
    const tensors = constant('TENSOR_BUCKET');
    expect(text).toContain(`"$O.${tensors}.>"`);
    expect(text).toContain(`$JS.API.STREAM.INFO.OBJ_${tensors}`);
    // Results are a KV bucket (workers/nats/result-store.ts).
    const results = constant('RESULT_BUCKET');
    expect(text).toContain(`"$KV.${results}.>"`);
    expect(text).toContain(`$JS.API.STREAM.INFO.KV_${results}`);
    expect(infra).toContain("subjects: ['mal.tasks.>']");
    expect(text).toContain('"mal.tasks.>"');
  });

  it('nats-server-tls.conf is valid with certificates in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mal-nats-tls-'));
    try {
      const certs = join(dir, 'certs');
      const openssl = (args: string[]) => {
        const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
        if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
      };
      spawnSync('mkdir', ['-p', certs]);
      openssl([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=mal-test-ca',
        '-keyout',
        join(certs, 'ca.key'),
        '-out',
        join(certs, 'ca.crt'),
      ]);
      openssl([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=nats',
        '-keyout',
        join(certs, 'server.key'),
        '-out',
        join(certs, 'server.csr'),
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        join(certs, 'server.csr'),
        '-CA',
        join(certs, 'ca.crt'),
        '-CAkey',
        join(certs, 'ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-out',
        join(certs, 'server.crt'),
      ]);
      copyFileSync(conf, join(dir, 'nats-server.conf'));
      const tls = readFileSync(join(DEPLOY, 'nats/nats-server-tls.conf'), 'utf8');
      expect(tls).toContain('include ./nats-server.conf');
      expect(tls).toContain('/etc/nats/certs/');
      writeFileSync(join(dir, 'nats-server-tls.conf'), tls.replaceAll('/etc/nats/certs/', `${certs}/`));
      const ok = natsTest(join(dir, 'nats-server-tls.conf'), withPasswords);
      expect(ok.output).toContain('is valid');
      expect(ok.status).toBe(0);
      // Without the key the same file is refused: the TLS block really is read.
      rmSync(join(certs, 'server.key'));
      expect(natsTest(join(dir, 'nats-server-tls.conf'), withPasswords).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------------------------------------ Dockerfile

interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

/** Joins continuation lines, drops comments and blank lines; parser directives (`# syntax=`) are comments. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      line = `${line.replace(/\\\s*$/, '')} ${lines[i]}`;
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ line: start + 1, keyword: m[1], args: m[2].trim() });
  }
  return out;
}

function dockerfileStages(instructions: readonly Instruction[]): string[] {
  return instructions
    .filter((i) => i.keyword.toUpperCase() === 'FROM')
    .map((i) => /\s+AS\s+(\S+)$/i.exec(i.args)?.[1])
    .filter((s): s is string => s !== undefined);
}

const DOCKERFILE_INSTRUCTIONS = new Set(
  'ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL STOPSIGNAL USER VOLUME WORKDIR'.split(
    ' ',
  ),
);

describe('deploy/Dockerfile', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const instructions = parseDockerfile(text);
  const stages = dockerfileStages(instructions);

  it('uses only known instructions, written in upper case, starting with ARG or FROM', () => {
    expect(instructions.length).toBeGreaterThan(10);
    for (const i of instructions) {
      expect(DOCKERFILE_INSTRUCTIONS.has(i.keyword), `line ${i.line}: '${i.keyword}'`).toBe(true);
    }
    expect(['ARG', 'FROM']).toContain(instructions[0].keyword);
    const firstFrom = instructions.findIndex((i) => i.keyword === 'FROM');
    for (const i of instructions.slice(0, firstFrom)) expect(i.keyword, `line ${i.line}`).toBe('ARG');
  });

  it('has the node, build, cpu and gpu stages, on bookworm-slim and CUDA 11.2', () => {
    expect(new Set(stages).size).toBe(stages.length);
    expect(stages).toEqual(expect.arrayContaining(['build', 'cpu', 'gpu']));
    expect(text).toMatch(/FROM node:\$\{NODE_VERSION\}-bookworm-slim AS node/);
    expect(text).toMatch(/ARG NODE_VERSION=20\n/);
    expect(text).toMatch(/ARG CUDA_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/);
    expect(text).toContain('npm ci');
    expect(text).toMatch(/npm install [^\n]*@tensorflow\/tfjs-node-gpu@\$\{TFJS_NODE_VERSION\}/);
    // The package's pinned peer version is the one the GPU stage installs.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    expect(text).toContain(`ARG TFJS_NODE_VERSION=${pkg.peerDependencies['@tensorflow/tfjs-node-gpu']}`);
  });

  it('refers only to stages defined before, and to ARGs it declares', () => {
    const seen: string[] = [];
    const args = new Set<string>();
    for (const i of instructions) {
      if (i.keyword === 'ARG') args.add(i.args.split('=')[0]);
      if (i.keyword === 'FROM') {
        const image = i.args.split(/\s+/)[0];
        for (const m of image.matchAll(/\$\{(\w+)\}/g))
          expect(args.has(m[1]), `line ${i.line}: ${m[1]}`).toBe(true);
        if (!image.includes(':') && !image.includes('/') && !image.includes('$')) {
          expect(seen, `line ${i.line}: stage ${image}`).toContain(image);
        }
        const name = /\s+AS\s+(\S+)$/i.exec(i.args)?.[1];
        if (name) seen.push(name);
      }
      const from = /--from=(\S+)/.exec(i.args)?.[1];
      if (from !== undefined) expect(seen, `line ${i.line}: --from=${from}`).toContain(from);
    }
  });

  it('copies from the context only paths that git tracks and the ignore file lets through', () => {
    const ignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^\*\*\//, '').replace(/\/$/, ''));
    for (const i of instructions.filter((x) => x.keyword === 'COPY' && !x.args.includes('--from='))) {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        if (source === '.') continue;
        const path = source.replace(/\/$/, '');
        const tracked = spawnSync('git', ['ls-files', '--', path], { cwd: ROOT, encoding: 'utf8' }).stdout;
        expect(tracked.trim(), `line ${i.line}: ${source} is tracked by git`).not.toBe('');
        expect(ignore.includes(path), `line ${i.line}: ${source} is not ignored`).toBe(false);
      }
    }
    // `COPY . .` brings the sources; the build must not see local node_modules or dist.
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist']));
  });

  it('runs node bin/mal.js as the entrypoint in both runtime stages', () => {
    const entrypoints = instructions.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => JSON.parse(i.args));
    expect(entrypoints.length).toBe(2);
    for (const e of entrypoints) expect(e.slice(-2)).toEqual(['node', '/app/bin/mal.js']);
    expect(existsSync(join(ROOT, 'bin/mal.js'))).toBe(true);
  });
});
