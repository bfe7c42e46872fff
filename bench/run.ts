/**
 * `npm run bench`: every benchmark in turn. Each prints its figures as ratios against a reference measured in the
 * same run, so a noisy machine still gives a stable answer. Run one alone with `npx tsx bench/<name>.ts`.
 */
import { main as assemblyStep } from './assembly-step.js';
import { main as clusterSpeedup } from './cluster-speedup.js';
import { main as forward } from './forward.js';
import { main as gemm } from './gemm.js';
import { main as linearAssignment } from './linear-assignment.js';
import { main as llmAlignment } from './llm-alignment.js';
import { main as mergeModels } from './merge-models.js';
import { main as natsAlignment } from './nats-alignment.js';
import { main as natsTasks } from './nats-tasks.js';
import { main as nestedAlignment } from './nested-alignment.js';
import { main as safetensorsRead } from './safetensors-read.js';
import { main as studySpeedup } from './study-speedup.js';
import { main as transformerClusterSpeedup } from './transformer-cluster-speedup.js';
import { main as transformerForward } from './transformer-forward.js';

const benches: readonly [string, () => Promise<void>][] = [
  ['linear assignment vs scipy', () => linearAssignment([])],
  ['cost-matrix GEMM vs numpy', () => gemm([])],
  ['forward passes per backend', () => forward([])],
  ['transformer forward passes per backend', () => transformerForward([])],
  ['nested alignment of a transformer block vs flat', () => nestedAlignment([])],
  ['safetensors read throughput', () => safetensorsRead()],
  ['merging two 1 GiB models', () => mergeModels([])],
  ['tasks and tensors through NATS: tasks per second, a cold 1024² alignment', () => natsTasks()],
  ['a 16-model zoo on the cluster: one task worker against two', () => clusterSpeedup()],
  ['a GPT-2 assembly on the cluster: one task worker against two', () => transformerClusterSpeedup()],
  ['an assembly step: probe against successive halving', () => assemblyStep([])],
  ['a study on the cluster: one task worker against two', () => studySpeedup()],
  // Last: it writes and aligns LLaMA-7B-shaped pairs of up to 8 blocks, the longest run here.
  ['alignment at LLM scale: LLaMA-7B-shaped pairs of 1, 2, 4 and 8 blocks', () => llmAlignment([])],
  [
    'alignment products through NATS: mal align in process against one and two mal workers',
    () => natsAlignment(),
  ],
];

for (const [name, run] of benches) {
  console.log(`\n### ${name}\n`);
  await run();
}
