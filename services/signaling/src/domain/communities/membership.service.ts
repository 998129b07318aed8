// SKELETON
export class MembershipService {
  constructor(_deps: object) {}
}
