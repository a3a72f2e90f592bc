// Vite bundles imported stylesheets into the fingerprinted CSS file.
declare module '*.css';
