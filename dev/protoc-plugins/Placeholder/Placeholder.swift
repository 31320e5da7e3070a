// Empty: this package exists only to build protoc plugins from its dependencies.
