import type { Database } from '@parley/db';
import { addMember } from './communities.ts';
import { registerUser, type TestUser } from './users.ts';

/** SFU addresses the voice tests configure (nothing listens there: Parley only hands them out). */
export const TEST_SFU_URLS = ['wss://sfu-a.example.test', 'wss://sfu-b.example.test'];

export interface VoiceCommunity {
  owner: TestUser;
  serverId: string;
  textChannelId: string;
  voiceChannelId: string;
  members: TestUser[];
}

/** A community with a voice channel, its owner and `memberCount` more members, registered on `url`. */
export async function voiceCommunity(url: string, database: Database, memberCount = 0): Promise<VoiceCommunity> {
  const owner = await registerUser(url);
  const server = await owner.http.createServer({ name: 'voice community' });
  const voice = await owner.http.request<{ id: string }>('POST', `/api/servers/${server.id}/channels`, { name: 'Lounge', type: 'voice' });
  const members: TestUser[] = [];
  for (let i = 0; i < memberCount; i++) {
    const member = await registerUser(url);
    await addMember(database, server.id, member.session.id);
    members.push(member);
  }
  return { owner, serverId: server.id, textChannelId: server.channels[0]!.id, voiceChannelId: voice.id, members };
}
