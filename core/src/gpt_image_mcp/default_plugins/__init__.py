"""Built-in plugins: ordinary plugin modules, registered before entry points."""
