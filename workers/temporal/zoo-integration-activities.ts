import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadPlanFile } from '../../src/assembly/plan-file.js';
import { MalError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic-file.js';
import { openModel, readModelConfig } from '../../src/io/open-model.js';
import { sha256 } from '../../src/store/content-store.js';
import { openZoo } from '../../src/zoo/zoo-folder.js';
import type {
  PublishedVersion,
  PublishInput,
  ZooChanges,
  ZooIntegrationActivities,
  ZooIntegrationInput,
  ZooModelRef,
} from '../../workflows/zoo-integration-types.js';

/** The file in the publication folder naming the newest version; replaced atomically, after the version exists. */
export const LATEST_POINTER = 'latest';
/** What a published version records about itself, beside the assembly's own lineage.json. */
export const PUBLICATION_FILE = 'publication.json';
const PUBLISHED_FILES = ['model.safetensors', 'spec.json', 'lineage.json', 'README.md', 'report.html'];

export interface Publication {
  readonly version: string;
  readonly parent: string | null;
  readonly base: string;
  readonly added: readonly ZooModelRef[];
  readonly zooSeen: readonly ZooModelRef[];
  readonly modelSha256: string;
  readonly runId: string;
}

/** A publication folder whose pointer or version is damaged or inconsistent. */
export class PublicationError extends MalError {
  override readonly name = 'PublicationError';
}

export function createZooIntegrationActivities(): ZooIntegrationActivities {
  return {
    async findZooChanges(input: ZooIntegrationInput): Promise<ZooChanges> {
      const publish = resolve(input.publish);
      const lastVersion = await readLatest(publish);
      const last = lastVersion === null ? null : await readPublication(publish, lastVersion);
      const zoo = await openZoo(input.zoo);
      const zooSeen = zoo.manifest.models.map((m) => ({ id: m.id, sha256: m.sha256 }));
      const seen = new Set((last?.zooSeen ?? []).map((m) => `${m.id}\n${m.sha256}`));
      return {
        added: zooSeen.filter((m) => !seen.has(`${m.id}\n${m.sha256}`)),
        zooSeen,
        lastVersion,
        base:
          lastVersion === null
            ? (await loadPlanFile(input.plan)).base
            : join(publish, lastVersion, 'model.safetensors'),
        nextVersion: lastVersion === null ? 'v1' : `v${versionNumber(lastVersion) + 1}`,
      };
    },

    async publishAssembly(input: PublishInput): Promise<PublishedVersion> {
      const publish = resolve(input.publish);
      const folder = join(publish, input.version);
      const modelSha256 = sha256(await readFile(join(input.output, 'model.safetensors')));
      const existing = await readPublication(publish, input.version).catch(() => null);
      if (existing !== null && existing.modelSha256 !== modelSha256)
        throw new PublicationError(
          `${folder} already holds another model (sha256 ${existing.modelSha256}); move it away or publish elsewhere`,
        );
      if (existing === null) {
        // Assemble the version in a staging folder and rename it into place: a reader never sees half a version.
        const staging = join(publish, `.${input.version}.partial-${process.pid}-${Date.now()}`);
        await mkdir(staging, { recursive: true });
        try {
          for (const file of PUBLISHED_FILES) await copyFile(join(input.output, file), join(staging, file));
          // The assembled safetensors carry no metadata; the base's config keeps the next run's spec the same.
          const config = await baseConfig(input.base);
          if (config !== undefined)
            await writeFileAtomic(join(staging, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
          const publication: Publication = {
            version: input.version,
            parent: input.parent,
            base: input.base,
            added: input.added,
            zooSeen: input.zooSeen,
            modelSha256,
            runId: input.runId,
          };
          await writeFileAtomic(join(staging, PUBLICATION_FILE), `${JSON.stringify(publication, null, 2)}\n`);
          await rename(staging, folder);
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          throw error;
        }
      }
      await writeFileAtomic(join(publish, LATEST_POINTER), `${input.version}\n`);
      return { version: input.version, folder, modelSha256 };
    },
  };
}

export async function readLatest(publish: string): Promise<string | null> {
  try {
    const version = (await readFile(join(publish, LATEST_POINTER), 'utf8')).trim();
    versionNumber(version);
    return version;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function readPublication(publish: string, version: string): Promise<Publication> {
  const path = join(publish, version, PUBLICATION_FILE);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Publication;
  } catch (error) {
    throw new PublicationError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function versionNumber(version: string): number {
  const match = /^v(\d+)$/.exec(version);
  if (match === null) throw new PublicationError(`'${version}' is not a version name (v1, v2, …)`);
  return Number(match[1]);
}

async function baseConfig(base: string): Promise<Record<string, unknown> | undefined> {
  const config = await readModelConfig(base);
  if (config !== undefined) return config;
  const source = await openModel(base);
  try {
    return source.metadata;
  } finally {
    await source.close();
  }
}
