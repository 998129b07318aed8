// SKELETON
export class InviteService {
  constructor(_deps: object) {}
}
