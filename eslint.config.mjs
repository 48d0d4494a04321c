// npm run lint: the style kept by tools rather than by memory. Prettier owns the layout (see .prettierrc.json),
// so the ESLint rules here are about correctness only; eslint-config-prettier turns off the ones that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
    require: 'readonly',
    module: 'writable',
    __dirname: 'readonly',
    __filename: 'readonly',
    process: 'readonly',
    console: 'readonly',
    Buffer: 'readonly',
    setTimeout: 'readonly',
    clearTimeout: 'readonly',
    setInterval: 'readonly',
    clearInterval: 'readonly',
    setImmediate: 'readonly',
    URL: 'readonly',
    fetch: 'readonly',
    AbortSignal: 'readonly',
};

export default tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', '.matrix/**', '.node-red/**', '.node-red-cluster/**', 'test-output/**', 'bench/results/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ['**/*.ts'],
        rules: {
            // The compiler already reports unused names (noUnusedLocals, noUnusedParameters); `_name` marks one on purpose.
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
            // Node-RED nodes are CommonJS modules exporting their register function: `export =` is the way.
            '@typescript-eslint/no-namespace': 'off',
            // Tests reach into the editor's window (RED) and into untyped test-helper internals.
            '@typescript-eslint/no-explicit-any': 'off',
            // `const node = this` is how a Node-RED node's closures reach it.
            '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node'] }],
            // Control characters are what escaping, header checks and log-forging tests are about.
            'no-control-regex': 'off',
            eqeqeq: ['error', 'always'],
            'no-console': 'off',
        },
    },
    {
        files: ['scripts/**/*.js', '.ci/**/*.js', 'bench/**/*.js', 'test/support/**/*.js'],
        languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
        rules: { '@typescript-eslint/no-require-imports': 'off' },
    },
    {
        // Editor code runs in the browser beside Node-RED's own scripts.
        files: ['resources/**/*.js'],
        languageOptions: {
            sourceType: 'script',
            globals: {
                window: 'readonly',
                document: 'readonly',
                RED: 'readonly',
                Mustache: 'readonly',
                $: 'readonly',
                jQuery: 'readonly',
                console: 'readonly',
                setTimeout: 'readonly',
                clearTimeout: 'readonly',
            },
        },
    },
    prettier,
);
