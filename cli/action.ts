/** How a command module registers its handler (main.ts makes it): the handler gets the command's context. */
import type { CommandContext } from './context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Action = (name: string, fn: (ctx: CommandContext, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
