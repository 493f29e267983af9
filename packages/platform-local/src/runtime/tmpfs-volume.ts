import type { ContainerCreateOptions } from 'dockerode';

export type MountVolumeOptions = NonNullable<
  NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['Mounts']>[number]['VolumeOptions']
>;

export interface TmpfsVolumeInput {
  sizeBytes: number;
  /** Most files and directories it may hold (a cap on inodes, not on bytes). */
  maxInodes: number;
  /** Octal mode of the volume's root, as the kernel's tmpfs `mode=` option reads it (e.g. '0700'). */
  mode: string;
  uid: number;
  gid: number;
}

/**
 * Options for an anonymous engine volume backed by a tmpfs: in memory only, gone with the container,
 * and never a place to run or plant anything from (nosuid, nodev, noexec). One builder, so every
 * such volume carries the same hardening flags.
 */
export function tmpfsVolumeOptions(input: TmpfsVolumeInput): MountVolumeOptions {
  return {
    NoCopy: true,
    Labels: {},
    DriverConfig: {
      Name: 'local',
      Options: {
        type: 'tmpfs',
        device: 'tmpfs',
        o: `size=${input.sizeBytes},nr_inodes=${input.maxInodes},mode=${input.mode},uid=${input.uid},gid=${input.gid},nosuid,nodev,noexec`,
      },
    },
  };
}
