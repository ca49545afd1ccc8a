import { conflict } from '../errors';

/**
 * Checks and visits are dated facts and never change; what they may carry is a follow-up, which moves from OPEN
 * (a due date was set) to DONE once, and not at all when none was asked for.
 */
export type FollowUpState = 'NONE' | 'OPEN' | 'DONE';
export type FollowUpAction = 'COMPLETE_FOLLOW_UP';

const ALLOWED: Record<FollowUpState, readonly FollowUpAction[]> = {
  NONE: [],
  OPEN: ['COMPLETE_FOLLOW_UP'],
  DONE: [],
};

export function followUpState(r: { followUpDueOn: string | null; followUpDoneOn: string | null }): FollowUpState {
  if (r.followUpDoneOn) return 'DONE';
  return r.followUpDueOn ? 'OPEN' : 'NONE';
}

export function followUpActions(state: FollowUpState): readonly FollowUpAction[] {
  return ALLOWED[state];
}

export function assertFollowUpAllows(state: FollowUpState, action: FollowUpAction): void {
  if (!ALLOWED[state].includes(action)) throw conflict(`a follow-up that is ${state} cannot ${action}`, { state, allowed: ALLOWED[state] });
}
