"""The lab's sub-commands of `reenact`: each module has `register(subparsers)`, as the runtime's."""
