import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { isNotificationCursor, listNotifications, listReminderRuns, markMessageRead, myMessages, requeueNotification, type Notification } from './service';

const cursorOf = (n: Notification) => [n.createdAt.toISOString(), n.id];

export const remindersResolvers: Resolvers = {
  Query: {
    notifications: async (_, { status, kind, retrying, first, after }, { deps, caller }) => {
      const { rows, hasMore } = await listNotifications(deps, caller, { status, kind, retrying }, pageSize(first), after ? decodeCursor(after, isNotificationCursor) : undefined);
      return connection(rows, hasMore, cursorOf);
    },
    reminderRuns: (_, { first }, { deps, caller }) => listReminderRuns(deps, caller, pageSize(first, 366, 30)),
    myMessages: async (_, { unreadOnly, first, after }, { deps, caller }) => {
      const { rows, hasMore } = await myMessages(deps, caller, unreadOnly ?? false, pageSize(first), after ? decodeCursor(after, isNotificationCursor) : undefined);
      return connection(rows, hasMore, cursorOf);
    },
  },
  Mutation: {
    markMessageRead: (_, { id }, { deps, caller }) => markMessageRead(deps, caller, id),
    requeueNotification: (_, { id }, { deps, caller }) => requeueNotification(deps, caller, id),
  },
  Notification: {
    person: async (n, _, { loaders }) => (n.personId ? ((await loaders.person.load(n.personId)) ?? null) : null),
    user: async (n, _, { loaders }) => (n.userId ? ((await loaders.user.load(n.userId)) ?? null) : null),
  },
};
