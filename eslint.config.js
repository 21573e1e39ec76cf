import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "cdn/", "test/fixtures/**/*.js", "**/*.bundle.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  // Type-aware rules on the code that runs in the relay (and its benchmarks): a promise nobody
  // awaits and nobody catches is an unhandled rejection waiting for a peer to trigger it, and
  // that ends the process. `void p` does not count as handling: use detach() from util/async.ts.
  {
    files: ["src/**/*.ts", "bench/**/*.ts", "fuzz/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: false }],
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  // Tests: node:test's test()/describe() return promises the runner tracks itself.
  {
    files: ["test/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }] }],
    },
  },
  { files: ["bin/**/*.js", "scripts/**/*.js", ".ci/**"], languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } } },
);
