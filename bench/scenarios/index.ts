// The scenarios in the order `make bench` runs them. Each one gets a fresh server and database.
import type { Scenario } from '../lib/phase.ts';
import { txnScenario } from './txn.ts';
import { bigTxnScenario, db100kScenario } from './bulk.ts';
import { fanoutMonitorScenario, fanoutMonitorCondScenario } from './fanout.ts';

export const SCENARIOS: Scenario[] = [txnScenario, bigTxnScenario, db100kScenario, fanoutMonitorScenario, fanoutMonitorCondScenario];
