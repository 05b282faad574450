"""Pulumi program entry point: the stack's `cwroles:integration` config chooses what to provision."""

from cwroles.stacks import main

main()
