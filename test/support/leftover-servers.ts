/**
 * A setup file (vitest.config.ts): after each test file's own clean-up, ends the nats-servers and Temporal dev
 * servers it left running.
 */
import { afterAll } from 'vitest';
import { stopLeftoverNatsServers } from './nats-server.js';
import { stopLeftoverTemporalServers } from './temporal-server-registry.js';

afterAll(() => Promise.all([stopLeftoverNatsServers(), stopLeftoverTemporalServers()]), 30_000);
