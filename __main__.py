"""Pulumi program entry point: the stack's `cwroles:integration` config chooses what to provision."""

from stacks import main

main()
