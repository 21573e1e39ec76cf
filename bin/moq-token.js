#!/usr/bin/env node
import { main } from "../dist/cli/token.js";
await main(process.argv.slice(2));
