/**
 * A setup file (vitest.config.ts): after each test file's own clean-up, ends the nats-servers it left running.
 */
import { afterAll } from 'vitest';
import { stopLeftoverNatsServers } from './nats-server.js';

afterAll(stopLeftoverNatsServers, 30_000);
