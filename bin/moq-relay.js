#!/usr/bin/env node
import { main } from "../dist/cli/relay.js";
await main(process.argv.slice(2));
